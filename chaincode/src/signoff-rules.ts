import { type Actor, type PermitRecord, type SignOffStepTemplate, WORK_UNIT_DEPARTMENT } from '@compliance-ledger/schema';
import { ForbiddenError, InvalidStateError, RuleViolationError } from './errors';

/** The first step that still lacks signers, in template order; undefined when all are done. */
export function currentStep(permit: Pick<PermitRecord, 'template' | 'signOffs'>): SignOffStepTemplate | undefined {
  return permit.template.signOffSteps.find((s) => permit.signOffs.filter((o) => o.stepId === s.stepId).length < s.distinctSigners);
}

export function requiredDepartment(step: SignOffStepTemplate, permit: Pick<PermitRecord, 'workUnit'>): string | null {
  if (step.department === WORK_UNIT_DEPARTMENT) return permit.workUnit;
  return step.department;
}

/**
 * Checks one signature against the template: steps in order (none skipped or repeated), the
 * step's role and department (approver level, named co-signs), signers distinct across the whole
 * permit (dual review is two people), and no signer who works on the permit or guards it.
 */
export function checkSignOff(permit: PermitRecord, actor: Actor, stepId: string, atSite: boolean): SignOffStepTemplate {
  const step = currentStep(permit);
  if (step === undefined) throw new InvalidStateError('every sign-off step is complete; the permit can be issued');
  if (step.stepId !== stepId) {
    const known = permit.template.signOffSteps.some((s) => s.stepId === stepId);
    if (!known) throw new RuleViolationError(`step ${stepId} is not in template v${permit.templateVersion}; the next step is ${step.stepId}`);
    throw new InvalidStateError(`the next sign-off step is ${step.stepId} (${step.name}); steps cannot be skipped or repeated`);
  }
  if (actor.role !== step.role) throw new ForbiddenError(`step ${step.stepId} must be signed by role ${step.role}, not ${actor.role}`);
  const dept = requiredDepartment(step, permit);
  if (dept !== null && actor.department !== dept) {
    throw new ForbiddenError(
      `step ${step.stepId} must be signed by a member of department ${dept}; the caller's ledger.department is ${actor.department ?? 'missing'}`,
    );
  }
  if (actor.workerId === null) {
    throw new ForbiddenError('signers need a ledger.workerId attribute so that the ledger can check they are not workers on the permit');
  }
  if (permit.workers.includes(actor.workerId)) throw new RuleViolationError('a worker on the permit cannot sign it off; ask another person');
  if (actor.workerId === permit.guardianId) throw new RuleViolationError('the guardian of the permit cannot sign it off; ask another person');
  if (permit.signOffs.some((s) => s.actor.certificateId === actor.certificateId || s.actor.workerId === actor.workerId)) {
    throw new RuleViolationError('this person has already signed this permit; sign-offs need distinct people');
  }
  if (step.atSite && !atSite) throw new RuleViolationError(`step ${step.stepId} must be signed at the work site; confirm atSite: true from the site`);
  return step;
}
