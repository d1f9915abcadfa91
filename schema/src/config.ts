/**
 * The one configuration style of every service: each variable is declared with one of these
 * helpers and a `.describe()`, parsed once at start-up by `parseEnvironment`, and listed with its
 * default by `environmentHelp` (each service's `--help`). Pure: no I/O, no process.env.
 */
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `250`, `250ms`, `10s`, `5m` or `2h` as whole milliseconds; anything else is undefined. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (m === null) return undefined;
  const value = Number(m[1]) * DURATION_UNITS_MS[(m[2] ?? 'ms') as keyof typeof DURATION_UNITS_MS];
  return Number.isSafeInteger(value) ? value : undefined;
}

function toDurationMs(min: number) {
  return (v: string, ctx: z.RefinementCtx): number => {
    const ms = parseDurationMs(v);
    if (ms === undefined || ms < min) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at least ${min} ms, such as 250, 250ms, 10s, 5m or 2h; got "${v}"` });
      return z.NEVER;
    }
    return ms;
  };
}

/** Declarations of environment variables; every one coerces the string the environment holds. */
export const env = {
  /** A whole number in [min, max]. */
  int: (fallback: number, o: { min?: number; max?: number } = {}) =>
    z.coerce
      .number()
      .int()
      .min(o.min ?? 0)
      .max(o.max ?? Number.MAX_SAFE_INTEGER)
      .default(fallback),
  /** A whole number ≥ 1. */
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  /** A TCP port; 0 picks a free one. */
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  /** A finite decimal number. */
  number: (fallback: number) => z.coerce.number().finite().default(fallback),
  /** `true`/`false` or `1`/`0`. */
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  /** A duration in milliseconds: a number of ms, or with a unit (`250ms`, `10s`, `5m`, `2h`); at least `min` ms (default 1). */
  durationMs: (fallback: number, o: { min?: number } = {}) =>
    z
      .string()
      .default(String(fallback))
      .transform(toDurationMs(o.min ?? 1)),
  /** A duration that may stay unset (the service derives it from others). */
  optionalDurationMs: (o: { min?: number } = {}) =>
    z
      .string()
      .optional()
      .transform((v, ctx) => (v === undefined ? undefined : toDurationMs(o.min ?? 1)(v, ctx))),
  /** An absolute URL. */
  url: () => z.string().url(),
  /** The pino log level. */
  logLevel: () => z.enum(LOG_LEVELS).default('info'),
  /** Free text where an empty value means unset. */
  optionalText: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? undefined : v)),
};

/** One line naming every bad path and what is wrong with it. */
export function formatZodIssues(error: z.ZodError, max = 20): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(input)'}: ${i.message}`)
    .join('; ');
}

/** A configuration that cannot be used; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment with the service's schema, or throws one ConfigError naming every bad variable. */
export function parseEnvironment<S extends z.ZodType>(service: string, schema: S, environment: Readonly<Record<string, string | undefined>>): z.output<S> {
  const result = schema.safeParse(environment);
  if (!result.success) throw new ConfigError(`invalid ${service} configuration: ${formatZodIssues(result.error)}`);
  return result.data;
}

export interface EnvironmentVariable {
  name: string;
  description: string;
  /** The default as the environment would spell it; undefined when the variable may stay unset or is required. */
  default: string | undefined;
  required: boolean;
}

interface Introspected {
  _zod: { def: { type: string; defaultValue?: unknown; in?: Introspected; innerType?: Introspected } };
  description?: string;
}

function defaultOf(s: Introspected): { value: unknown; optional: boolean } {
  const def = s._zod.def;
  if (def.type === 'default') return { value: def.defaultValue, optional: true };
  if (def.type === 'optional') return { value: undefined, optional: true };
  const inner = def.in ?? def.innerType;
  return inner ? defaultOf(inner) : { value: undefined, optional: false };
}

/** Every variable of a service's schema with its description and default, in declaration order. */
export function describeEnvironment(schema: z.ZodObject): EnvironmentVariable[] {
  return Object.entries(schema.shape).map(([name, s]) => {
    const { value, optional } = defaultOf(s as unknown as Introspected);
    return {
      name,
      description: (s as unknown as Introspected).description ?? '',
      default: value === undefined ? undefined : String(value),
      required: !optional,
    };
  });
}

/** The text of a service's `--help`: every variable, its default and what it does. */
export function environmentHelp(service: string, schema: z.ZodObject, intro = ''): string {
  const lines = [`${service}: settings come from environment variables${intro ? `. ${intro}` : ''}`, ''];
  for (const v of describeEnvironment(schema)) {
    const value = v.required ? '(required)' : v.default === undefined ? '(unset)' : `(default ${v.default})`;
    lines.push(`  ${v.name} ${value}`, `      ${v.description || 'no description'}`);
  }
  return lines.join('\n');
}
