import './quiet-logs';
import { createHmac } from 'node:crypto';
import {
  DEPARTMENT_ATTRIBUTE,
  ENTERPRISE_MSP,
  type ErrorCode,
  EVENT_SCHEMA_VERSION,
  LEDGER_EVENT_TYPES,
  type LedgerEvent,
  REGULATOR_MSP,
  ROLE_ATTRIBUTE,
  type Role,
  WORKER_ID_ATTRIBUTE,
  writtenKeyOf,
} from '@compliance-ledger/schema';
import { expect } from 'chai';
import type { Context } from 'fabric-contract-api';
import { AlarmContract } from '../../src/alarm-contract';
import { peerClock } from '../../src/clock';
import { CredentialContract } from '../../src/credential-contract';
import { DeviceContract } from '../../src/device-contract';
import { EvidenceContract } from '../../src/evidence-contract';
import { HeartbeatContract } from '../../src/heartbeat-contract';
import type { LedgerContract } from '../../src/ledger-contract';
import { PermitContract } from '../../src/permit-contract';
import { TemplateContract } from '../../src/template-contract';
import { FakeClientIdentity, type FakeIdentityOptions, FakeLedger, FakeStub, type ReadConflict } from './fake-stub';

export const CONTRACTS = {
  heartbeat: new HeartbeatContract(),
  template: new TemplateContract(),
  permit: new PermitContract(),
  credential: new CredentialContract(),
  evidence: new EvidenceContract(),
  device: new DeviceContract(),
  alarm: new AlarmContract(),
};
export type ContractName = keyof typeof CONTRACTS;

export interface Caller extends FakeIdentityOptions {}

let counter = 0;
/** A caller with a CA-issued role; each call makes a distinct certificate id unless `id` is given. */
export function caller(role: Role | string, o: { msp?: string; dept?: string; workerId?: string; id?: string } = {}): Caller {
  const attrs: Record<string, string> = { [ROLE_ATTRIBUTE]: role };
  if (o.dept !== undefined) attrs[DEPARTMENT_ATTRIBUTE] = o.dept;
  if (o.workerId !== undefined) attrs[WORKER_ID_ATTRIBUTE] = o.workerId;
  const msp = o.msp ?? (role === 'regulator' || role === 'auditor' ? REGULATOR_MSP : ENTERPRISE_MSP);
  return { mspId: msp, id: o.id ?? `x509::/CN=${role}-${++counter}::/CN=ca.${msp}`, attrs };
}

/** Pseudonymous worker id as the enterprise computes it outside the chaincode. */
export function workerId(idNumber: string): string {
  return createHmac('sha256', 'test-enterprise-key').update(idNumber).digest('hex');
}

export interface TxResult {
  ok: boolean;
  /** The answer as a client sees it: a written-key answer resolved to the record written (answerOf). */
  result?: string;
  /** What the chaincode returned, as the transaction carries it. */
  rawResult?: string;
  error?: Error;
  events: { name: string; payload: string }[];
  attemptedWrites: number;
  /** The state requests the transaction made, by kind (FakeStub.requests). */
  requests: FakeStub['requests'];
}

export interface ConcurrentCall {
  contract: ContractName;
  fn: string;
  who: Caller;
  input: unknown;
}

/** `validation` null: refused at endorsement, never ordered. */
export interface ConcurrentOutcome {
  validation: 'VALID' | ReadConflict | null;
  result?: string;
  error?: Error;
}

export const T0 = Date.parse('2026-06-01T08:00:00.000Z');

/** Arguments passed as they are, one string each, for the heartbeat's positional transactions. */
/**
 * The answer as a client sees it (fabric-client's answerOf): a `{ written: key }` answer is the value
 * the transaction wrote under that key; one naming a key it did not write fails the test.
 */
function answerOf(stub: FakeStub, result: string, tx: string): string {
  let key: string | undefined;
  try {
    key = writtenKeyOf(JSON.parse(result));
  } catch {
    return result;
  }
  if (key === undefined) return result;
  const value = stub.writes.get(key);
  if (!value) throw new Error(`${tx} answered with the record written under ${JSON.stringify(key)}, but it wrote none there`);
  return value.toString('utf8');
}

export class Positional {
  readonly args: string[];
  constructor(...args: string[]) {
    this.args = args;
  }
}

export class Harness {
  readonly ledger = new FakeLedger();
  now = T0;
  /** How far the client's clock (the proposal timestamp, `now`) is ahead of the peers' clocks. */
  clientClockSkewMs = 0;
  private seq = 0;

  at(iso: string): this {
    this.now = Date.parse(iso);
    return this;
  }
  advance(ms: number): this {
    this.now += ms;
    return this;
  }

  /** Executes a proposal against the committed state; nothing is committed. */
  private async execute(
    contract: ContractName,
    fn: string,
    who: Caller,
    input: unknown,
    transient: Record<string, unknown> | undefined,
  ): Promise<{ stub: FakeStub; result?: string; error?: Error }> {
    const args = input instanceof Positional ? input.args : [typeof input === 'string' ? input : JSON.stringify(input)];
    const tmap = new Map<string, Uint8Array>();
    for (const [k, v] of Object.entries(transient ?? {})) tmap.set(k, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
    const stub = new FakeStub(this.ledger, `tx${String(++this.seq).padStart(6, '0')}`, this.now, tmap, `${contract}:${fn}`, args);
    // The peers' clocks agree with the proposal unless a test sets a skew.
    const proposalTime = this.now;
    peerClock.nowMs = () => proposalTime - this.clientClockSkewMs;
    const ctx = { stub, clientIdentity: new FakeClientIdentity(who) } as unknown as Context;
    const c = CONTRACTS[contract] as unknown as Record<string, (ctx: Context, ...args: string[]) => Promise<string>>;
    const method = c[fn];
    if (typeof method !== 'function') throw new Error(`no transaction ${contract}:${fn}`);
    try {
      const result = await method.call(c, ctx, ...args);
      // As fabric-contract-api: after a function that returned, never after one that threw.
      await (c as unknown as LedgerContract).afterTransaction(ctx, result);
      return { stub, result };
    } catch (error) {
      return { stub, error: error as Error };
    }
  }

  private async run(
    contract: ContractName,
    fn: string,
    who: Caller,
    input: unknown,
    transient: Record<string, unknown> | undefined,
    commit: boolean,
  ): Promise<TxResult> {
    const { stub, result, error } = await this.execute(contract, fn, who, input, transient);
    const attemptedWrites = stub.writes.size + [...stub.privateWrites.values()].reduce((n, m) => n + m.size, 0);
    // A failed proposal is never ordered: nothing is committed.
    if (error !== undefined) return { ok: false, error, events: [], attemptedWrites, requests: stub.requests };
    const events = stub.events.map((e) => ({ name: e.name, payload: e.payload.toString('utf8') }));
    if (commit) stub.commit(result as string);
    return {
      ok: true,
      result: answerOf(stub, result as string, `${contract}:${fn}`),
      rawResult: result as string,
      events,
      attemptedWrites,
      requests: stub.requests,
    };
  }

  /**
   * Proposals sent at the same moment: each is endorsed against the same committed state, then
   * the successful ones are committed in the given order as one block, and each is marked invalid
   * as Fabric's validator would if it read a key, or scanned a range, that an earlier valid one
   * in the block wrote. An invalid transaction writes nothing.
   */
  async concurrently(calls: ConcurrentCall[]): Promise<ConcurrentOutcome[]> {
    const endorsed = [];
    for (const c of calls) endorsed.push(await this.execute(c.contract, c.fn, c.who, c.input, undefined));
    const written = new Set<string>();
    return endorsed.map(({ stub, result, error }, i) => {
      if (error !== undefined) return { validation: null, error };
      const conflict = stub.conflictWith(written);
      if (conflict !== null) return { validation: conflict };
      for (const k of stub.writes.keys()) written.add(k);
      stub.commit(result as string);
      return { validation: 'VALID', result: answerOf(stub, result as string, `${calls[i]!.contract}:${calls[i]!.fn}`) };
    });
  }

  /** Submits: commits on success. */
  submit(contract: ContractName, fn: string, who: Caller, input: unknown, transient?: Record<string, unknown>): Promise<TxResult> {
    return this.run(contract, fn, who, input, transient, true);
  }

  /** Evaluates: never commits. */
  evaluate(contract: ContractName, fn: string, who: Caller, input: unknown): Promise<TxResult> {
    return this.run(contract, fn, who, input, undefined, false);
  }

  /** Submits and expects success with exactly one event; returns the parsed result. */
  async ok<T = any>(contract: ContractName, fn: string, who: Caller, input: unknown, transient?: Record<string, unknown>): Promise<T> {
    const r = await this.submit(contract, fn, who, input, transient);
    if (!r.ok) throw new Error(`${contract}:${fn} failed unexpectedly: ${r.error?.message}`);
    expect(r.events, `${contract}:${fn} must emit exactly one event`).to.have.length(1);
    const event = JSON.parse(r.events[0]?.payload as string) as LedgerEvent;
    expect(LEDGER_EVENT_TYPES as readonly string[]).to.include(event.type);
    expect(r.events[0]?.name).to.equal(event.type);
    expect(event.schemaVersion).to.equal(EVENT_SCHEMA_VERSION);
    expect(event.at).to.equal(new Date(this.now).toISOString());
    expect(event.txId).to.equal(this.ledger.blocks[this.ledger.blocks.length - 1]?.txId);
    return JSON.parse(r.result as string) as T;
  }

  async read<T = any>(contract: ContractName, fn: string, who: Caller, input: unknown): Promise<T> {
    const r = await this.evaluate(contract, fn, who, input);
    if (!r.ok) throw new Error(`${contract}:${fn} failed unexpectedly: ${r.error?.message}`);
    return JSON.parse(r.result as string) as T;
  }

  /**
   * Submits, expects the coded error, and checks the refusal changed nothing: no write was even
   * attempted, no event set, and the ledger snapshot is identical. Public-state writes go to the
   * peer only after the function returns (store.ts), so for them the check holds by construction;
   * private data is written as the function runs, and there it checks the order of the code.
   */
  async fails(code: ErrorCode, contract: ContractName, fn: string, who: Caller, input: unknown, transient?: Record<string, unknown>): Promise<string> {
    const before = this.ledger.snapshot();
    const blocks = this.ledger.blocks.length;
    const r = await this.submit(contract, fn, who, input, transient);
    expect(r.ok, `${contract}:${fn} should have failed with ${code}`).to.equal(false);
    const message = r.error?.message ?? '';
    expect(message, message).to.match(new RegExp(`^${code}: \\S`));
    expect(r.attemptedWrites, `${contract}:${fn} attempted writes before failing with ${code}`).to.equal(0);
    expect(this.ledger.snapshot()).to.equal(before);
    expect(this.ledger.blocks.length).to.equal(blocks);
    return message;
  }

  lastEvent(): LedgerEvent {
    const b = this.ledger.blocks[this.ledger.blocks.length - 1];
    const e = b?.events[0];
    if (e === undefined) throw new Error('no event');
    return JSON.parse(e.payload) as LedgerEvent;
  }
}
