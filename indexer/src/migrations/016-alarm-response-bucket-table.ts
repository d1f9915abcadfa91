/**
 * The same response-time buckets as migration 011, a hundred times faster (issue 18, point 6: the
 * KPIs' p90 at 1,000,000 permits).
 *
 * 011 defines a response time's bucket as floor(4 · log2(ms)) with PostgreSQL's `numeric` logarithm,
 * which took 25–40 µs a call here. The KPIs call it for every acknowledged alarm in the partial days
 * at a window's edges (a few hundred a request over a park), so it was the largest part of the p90's
 * statement: 7.9 ms of a year's KPIs.
 *
 * Here the bucket is looked up in a table of each bucket's least value (`width_bucket`'s binary
 * search, about 0.3 µs): the number of least values at or under the response time, less one. The
 * table was found by bisection with 011's function, so the lookup returns exactly what 011's function
 * returns for every bigint, and the expression index `alarms_response_bucket_index` and the
 * histogram `alarm_response_days`, both built with 011's values, stay valid without a rebuild. `up`
 * checks the table against 011's function at every bucket's edge before it replaces anything, so a
 * server whose `numeric` logarithm rounds otherwise fails the migration instead of mixing two
 * definitions. indexer/test/unit/alarm-response-bucket.test.ts checks the two agree over every value
 * up to 20,000, at every edge and on 20,000 values spread over the whole range, on PostgreSQL and on
 * PGlite.
 */
import type { Knex } from 'knex';

export const name = '016-alarm-response-bucket-table';

/** Migration 011's definition of the bucket of `arg`, kept to check against in `up` and restored by `down`. */
export const numericBucket = (arg = 'ms') => `floor(log(2.0, greatest(${arg}, 1)::numeric) * 4)::int`;

/**
 * The least response time (ms, at least 1) whose bucket under 011's definition is k or more, for
 * k = 0 … 252; several small buckets hold no whole millisecond and share their next one's least value.
 * Up to k = 200 (1.3e15 ms, longer than any time between two instants of the years 1970–9999)
 * each is the exact least m with m⁴ ≥ 2ᵏ; above, they follow the `numeric` logarithm's rounding.
 */
export const BUCKET_LEAST_MS: readonly string[] = `
1 2 2 2 2 3 3 4 4 5 6 7 8 10 12 14 16 20 23 27 32 39 46 54 64 77 91 108 128 153 182 216 256 305 363 431 512 609 725 862 1024 1218 1449 1723
2048 2436 2897 3445 4096 4871 5793 6889 8192 9742 11586 13778 16384 19484 23171 27555 32768 38968 46341 55109 65536 77936 92682 110218
131072 155872 185364 220436 262144 311744 370728 440872 524288 623488 741456 881744 1048576 1246975 1482911 1763488 2097152 2493949 2965821
3526976 4194304 4987897 5931642 7053951 8388608 9975793 11863284 14107901 16777216 19951585 23726567 28215802 33554432 39903170 47453133
56431604 67108864 79806339 94906266 112863207 134217728 159612678 189812532 225726413 268435456 319225355 379625063 451452826 536870912
638450709 759250125 902905651 1073741824 1276901417 1518500250 1805811302 2147483648 2553802834 3037000500 3611622603 4294967296 5107605668
6074001000 7223245206 8589934592 10215211335 12148002000 14446490412 17179869184 20430422669 24296004000 28892980823 34359738368
40860845337 48592008000 57785961646 68719476736 81721690674 97184016000 115571923291 137438953472 163443381348 194368031999 231143846582
274877906944 326886762695 388736063997 462287693164 549755813888 653773525390 777472127994 924575386327 1099511627776 1307547050780
1554944255988 1849150772654 2199023255552 2615094101559 3109888511976 3698301545307 4398046511104 5230188203118 6219777023951 7396603090613
8796093022208 10460376406236 12439554047902 14793206181226 17592186044416 20920752812472 24879108095804 29586412362452 35184372088832
41841505624943 49758216191608 59172824724904 70368744177664 83683011249885 99516432383216 118345649449807 140737488355328 167366022499769
199032864766431 236691298899614 281474976710656 334732044999538 398065729532861 473382597799227 562949953421312 669464089999075
796131459065722 946765195598454 1125899906842624 1338928179998149 1592262918131443 1893530391196907 2251799813685248 2677856359996298
3184525836262886 3787060782393814 4503599627370495 5355712719992596 6369051672525771 7574121564787627 9007199254740989 10711425439985191
12738103345051541 15148243129575254 18014398509481978 21422850879970382 25476206690103082 30296486259150507 36028797018963956
42845701759940763 50952413380206163 60592972518301014 72057594037927912 85691403519881526 101904826760412326 121185945036602028
144115188075855823 171382807039763051 203809653520824652 242371890073204056 288230376151711645 342765614079526101 407619307041649303
484743780146408112 576460752303423289 685531228159052202 815238614083298606 969487560292816224 1152921504606846577 1371062456318104403
1630477228166597212 1938975120585632447 2305843009213693153 2742124912636208806 3260954456333194423 3877950241171264894 4611686018427386306
5484249825272417611 6521908912666388846 7755900482342529787 9223372036854772612
`
  .trim()
  .split(/\s+/);

/** The table as an SQL array literal. */
export const leastArray = (least: readonly string[] = BUCKET_LEAST_MS) => `'{${least.join(',')}}'::bigint[]`;

/**
 * The bucket as the number of least values at or under the response time, less one. One expression
 * (no FROM), so PostgreSQL inlines it into the queries and triggers that call it.
 */
export function tableBucket(arg = 'ms', least: readonly string[] = BUCKET_LEAST_MS): string {
  return `width_bucket(greatest(${arg}, 1), ${leastArray(least)}) - 1`;
}

/** At how many of the buckets' edges (each least value and the one under it) the table's bucket with `least` differs from 011's. */
export async function edgesDiffering(knex: Knex, least: readonly string[] = BUCKET_LEAST_MS): Promise<{ edges: number; differ: number }> {
  const { rows } = await knex.raw(
    `SELECT count(*)::int AS edges, count(*) FILTER (WHERE (${numericBucket('e.ms')}) <> (${tableBucket('e.ms', least)}))::int AS differ
       FROM (SELECT DISTINCT v AS ms FROM unnest(${leastArray(least)}) t, LATERAL (VALUES (t), (t - 1)) x(v) WHERE v >= 1) e`,
  );
  return rows[0] as { edges: number; differ: number };
}

const define = (body: string) => `CREATE OR REPLACE FUNCTION alarm_response_bucket(ms bigint) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ${body} $$`;

export async function up(knex: Knex): Promise<void> {
  const { edges, differ } = await edgesDiffering(knex);
  if (differ !== 0) {
    throw new Error(
      `016: the response-time bucket from the table differs from migration 011's at ${differ} of ${edges} bucket edges on this server; ` +
        'its numeric logarithm rounds otherwise than the one the table was made with, so the bucket is left as it is',
    );
  }
  await knex.raw(define(tableBucket()));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(define(numericBucket()));
}
