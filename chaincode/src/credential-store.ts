import type { CertificateRecord, GateCheckRecord, WorkerRecord, WorkflowTemplate } from '@compliance-ledger/schema';
import type { Context } from 'fabric-contract-api';
import { workerCertificateProblems } from './certificate-rules';
import { NotFoundError, RuleViolationError } from './errors';
import { getJson, KEYS, key, listByPartialKey } from './store';
import { guardianCategories } from './templates';

export async function loadWorker(ctx: Context, workerId: string): Promise<WorkerRecord> {
  const w = await getJson<WorkerRecord>(ctx, key(ctx, KEYS.worker, [workerId]));
  if (w === undefined) throw new NotFoundError(`worker ${workerId.slice(0, 12)}… is not registered; register the worker first`);
  return w;
}

export async function loadActiveWorker(ctx: Context, workerId: string): Promise<WorkerRecord> {
  const w = await loadWorker(ctx, workerId);
  if (w.status !== 'active') throw new RuleViolationError(`worker ${workerId.slice(0, 12)}… is ${w.status} and cannot be assigned`);
  return w;
}

export async function listWorkerCertificates(ctx: Context, workerId: string): Promise<CertificateRecord[]> {
  const entries = await listByPartialKey<unknown>(ctx, KEYS.certificateByWorker, [workerId]);
  const out: CertificateRecord[] = [];
  for (const e of entries) {
    const id = e.attributes[1];
    if (id === undefined) continue;
    const c = await getJson<CertificateRecord>(ctx, key(ctx, KEYS.certificate, [id]));
    if (c !== undefined) out.push(c);
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
  for (const w of [...crew.workers, crew.guardianId]) {
    const categories = categoriesFor(crew, template, w);
    if (categories.length === 0) continue;
    const p = workerCertificateProblems(
      await listWorkerCertificates(ctx, w),
      categories,
      windowStartMs,
      windowEndMs,
      nowMs,
      offJobHolder(crew, await loadWorker(ctx, w)),
    );
    if (p.length > 0) problems.push(`${w === crew.guardianId ? 'guardian' : 'worker'} ${w.slice(0, 12)}…: ${p.join(', ')}`);
  }
  if (problems.length > 0) {
    throw new RuleViolationError(`the crew lacks a qualifying certificate for the whole window: ${problems.join(' | ')}`);
  }
}

export async function listGateChecks(ctx: Context, permitNo: string): Promise<GateCheckRecord[]> {
  return (await listByPartialKey<GateCheckRecord>(ctx, KEYS.gateCheck, [permitNo])).map((e) => e.value);
}
