import type { CertificateRecord, GateCheckRecord, WorkerRecord, WorkflowTemplate } from '@compliance-ledger/schema';
import type { Context } from 'fabric-contract-api';
import { workerCertificateProblems } from './certificate-rules';
import { NotFoundError, RuleViolationError } from './errors';
import { getJson, KEYS, key, listByPartialKey, prefetch } from './store';
import { guardianCategories } from './templates';

export function workerKey(ctx: Context, workerId: string): string {
  return key(ctx, KEYS.worker, [workerId]);
}

export async function loadWorker(ctx: Context, workerId: string): Promise<WorkerRecord> {
  const w = await getJson<WorkerRecord>(ctx, workerKey(ctx, workerId));
  if (w === undefined) throw new NotFoundError(`worker ${workerId.slice(0, 12)}… is not registered; register the worker first`);
  return w;
}

export async function loadActiveWorker(ctx: Context, workerId: string): Promise<WorkerRecord> {
  const w = await loadWorker(ctx, workerId);
  if (w.status !== 'active') throw new RuleViolationError(`worker ${workerId.slice(0, 12)}… is ${w.status} and cannot be assigned`);
  return w;
}

export async function listWorkerCertificates(ctx: Context, workerId: string): Promise<CertificateRecord[]> {
  return (await workersCertificates(ctx, [workerId])).get(workerId) ?? [];
}

/**
 * The ids of a worker's certificates: from the worker's record, or, for a record from before it
 * kept them (or no record), from the certificate index, a range read.
 */
export async function certificateIdsOf(ctx: Context, workerId: string, worker: WorkerRecord | undefined): Promise<string[]> {
  if (worker?.certificateIds !== undefined) return worker.certificateIds;
  const entries = await listByPartialKey<unknown>(ctx, KEYS.certificateByWorker, [workerId]);
  return entries.flatMap((e) => (e.attributes[1] === undefined ? [] : [e.attributes[1]]));
}

/**
 * Each worker's certificates: the workers' records in one request to the peer (prefetch), which
 * name their certificates, then every certificate in one more, not a range read a worker and a
 * request a certificate.
 */
async function workersCertificates(ctx: Context, workerIds: string[]): Promise<Map<string, CertificateRecord[]>> {
  const workers = [...new Set(workerIds)];
  await prefetch(
    ctx,
    workers.map((w) => workerKey(ctx, w)),
  );
  const ids = new Map<string, string[]>();
  for (const w of workers) ids.set(w, await certificateIdsOf(ctx, w, await getJson<WorkerRecord>(ctx, workerKey(ctx, w))));
  const certificateKey = (id: string) => key(ctx, KEYS.certificate, [id]);
  await prefetch(ctx, [...ids.values()].flat().map(certificateKey));
  const out = new Map<string, CertificateRecord[]>();
  for (const [w, certificateIds] of ids) {
    const certificates: CertificateRecord[] = [];
    for (const id of certificateIds) {
      const c = await getJson<CertificateRecord>(ctx, certificateKey(id));
      if (c !== undefined) certificates.push(c);
    }
    out.set(w, certificates);
  }
  return out;
}

/** The categories a person on the permit must hold: the workers' or the guardian's. */
export function categoriesFor(crew: Crew, template: WorkflowTemplate, personId: string): string[] {
  return personId === crew.guardianId ? guardianCategories(template) : template.requiredCertificateCategories;
}

export interface Crew {
  workers: string[];
  guardianId: string;
}

/**
 * Whose off-the-job time counts: the workers', who hold state-issued special-operation
 * certificates. The guardian's training certificate is the enterprise's own and has no such rule.
 */
export function offJobHolder(crew: Crew, person: WorkerRecord): WorkerRecord | undefined {
  return person.workerId === crew.guardianId ? undefined : person;
}

/** Throws RULE_VIOLATION naming every worker, and the guardian, whose certificates do not qualify them. */
export async function assertCrewQualified(
  ctx: Context,
  crew: Crew,
  template: WorkflowTemplate,
  windowStartMs: number,
  windowEndMs: number,
  nowMs: number,
): Promise<void> {
  const problems: string[] = [];
  const people = [...crew.workers, crew.guardianId];
  const certificates = await workersCertificates(
    ctx,
    people.filter((w) => categoriesFor(crew, template, w).length > 0),
  );
  for (const w of people) {
    const categories = categoriesFor(crew, template, w);
    if (categories.length === 0) continue;
    const p = workerCertificateProblems(certificates.get(w) ?? [], categories, windowStartMs, windowEndMs, nowMs, offJobHolder(crew, await loadWorker(ctx, w)));
    if (p.length > 0) problems.push(`${w === crew.guardianId ? 'guardian' : 'worker'} ${w.slice(0, 12)}…: ${p.join(', ')}`);
  }
  if (problems.length > 0) {
    throw new RuleViolationError(`the crew lacks a qualifying certificate for the whole window: ${problems.join(' | ')}`);
  }
}

export async function listGateChecks(ctx: Context, permitNo: string): Promise<GateCheckRecord[]> {
  return (await listByPartialKey<GateCheckRecord>(ctx, KEYS.gateCheck, [permitNo])).map((e) => e.value);
}
