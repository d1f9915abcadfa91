import type { z } from 'zod';
import {
  addCertificateInput,
  alarmIdInput,
  alarmRefInput,
  applyPermitInput,
  assessRiskInput,
  briefInput,
  certificatePersonalTransient,
  certificateRefInput,
  certificateReviewInput,
  certificateStatusInput,
  closeInput,
  completeInput,
  deviceRefInput,
  deviceStatusInput,
  emptyInput,
  erasePersonalDataInput,
  flagPermitInput,
  gateCheckInput,
  getTemplateInput,
  listDueInput,
  listInput,
  logPersonalDataAccessInput,
  permitNoListInput,
  permitRefInput,
  practicalExamInput,
  publishPolicyInput,
  publishTemplateInput,
  readPersonalDataInput,
  reasonedPermitInput,
  recordAlarmInput,
  recordEvidenceInput,
  recordGasTestInput,
  registerDeviceInput,
  registerWorkerInput,
  reviewDetectionInput,
  signedGateCheckInput,
  signOffInput,
  storeCertificateNumberInput,
  storeWorkerPersonalDataInput,
  suspendInput,
  workerPersonalTransient,
  workerRefInput,
  workerStatusInput,
} from './inputs';

/**
 * The input schema of every domain transaction, keyed by the name a Fabric client uses
 * (`contract:Transaction`). The chaincode parses with exactly these, so a gateway that validates
 * with them refuses the same requests before they reach a peer.
 */
export const TX_INPUT_SCHEMAS = {
  'template:Publish': publishTemplateInput,
  'template:PublishPolicy': publishPolicyInput,
  'template:Get': getTemplateInput,
  'template:GetPolicy': emptyInput,

  'permit:Apply': applyPermitInput,
  'permit:AssessRisk': assessRiskInput,
  'permit:RecordGasTest': recordGasTestInput,
  'permit:SignOff': signOffInput,
  'permit:Issue': permitRefInput,
  'permit:Brief': briefInput,
  'permit:Activate': permitRefInput,
  'permit:Suspend': suspendInput,
  'permit:Resume': permitRefInput,
  'permit:Complete': completeInput,
  'permit:Close': closeInput,
  'permit:Reject': reasonedPermitInput,
  'permit:Cancel': reasonedPermitInput,
  'permit:Revoke': reasonedPermitInput,
  'permit:Expire': permitRefInput,
  'permit:Flag': flagPermitInput,
  'permit:Get': permitRefInput,
  'permit:GetHistory': permitRefInput,
  'permit:GetLedgerHistory': permitRefInput,
  'permit:GetFlags': permitRefInput,
  'permit:ListLive': listInput,
  'permit:ListDue': listDueInput,

  'credential:RegisterWorker': registerWorkerInput,
  'credential:SetWorkerStatus': workerStatusInput,
  'credential:StoreWorkerPersonalData': storeWorkerPersonalDataInput,
  'credential:AddCertificate': addCertificateInput,
  'credential:StoreCertificateNumber': storeCertificateNumberInput,
  'credential:SetCertificateStatus': certificateStatusInput,
  'credential:RecordCertificateReview': certificateReviewInput,
  'credential:RecordPracticalExam': practicalExamInput,
  'credential:RecordGateCheck': gateCheckInput,
  'credential:RecordSignedGateCheck': signedGateCheckInput,
  'credential:ErasePersonalData': erasePersonalDataInput,
  'credential:LogPersonalDataAccess': logPersonalDataAccessInput,
  'credential:ReadPersonalData': readPersonalDataInput,
  'credential:GetWorker': workerRefInput,
  'credential:GetCertificate': certificateRefInput,
  'credential:ListCertificates': workerRefInput,
  'credential:ListGateChecks': permitNoListInput,
  'credential:GateSnapshot': permitNoListInput,

  'evidence:Record': recordEvidenceInput,
  'evidence:List': permitNoListInput,

  'device:Register': registerDeviceInput,
  'device:SetStatus': deviceStatusInput,
  'device:Get': deviceRefInput,

  'alarm:Record': recordAlarmInput,
  'alarm:Acknowledge': alarmRefInput,
  'alarm:Close': alarmRefInput,
  'alarm:ReviewDetection': reviewDetectionInput,
  'alarm:Get': alarmIdInput,
  'alarm:ListOpen': listInput,
} as const;

export type TxName = keyof typeof TX_INPUT_SCHEMAS;
/** What a client sends (before defaults are applied). */
export type TxInput<T extends TxName> = z.input<(typeof TX_INPUT_SCHEMAS)[T]>;
/** What the chaincode works with (after defaults). */
export type TxData<T extends TxName> = z.output<(typeof TX_INPUT_SCHEMAS)[T]>;

/** Transient map entries (key `personal`) of the transactions that store personal data. */
export const TX_TRANSIENT_SCHEMAS = {
  'credential:StoreWorkerPersonalData': workerPersonalTransient,
  'credential:StoreCertificateNumber': certificatePersonalTransient,
} as const satisfies Partial<Record<TxName, z.ZodType>>;
export const TRANSIENT_KEY = 'personal';

/**
 * Transactions that write only the enterprise's implicit private collection: clients must have
 * them endorsed by EnterpriseMSP alone, so that no other org's peer receives the personal data
 * (chaincode README, "Personal data on the real network").
 */
export const ENTERPRISE_ONLY_TXS = [
  'credential:StoreWorkerPersonalData',
  'credential:StoreCertificateNumber',
  'credential:ErasePersonalData',
  'credential:ReadPersonalData',
] as const satisfies readonly TxName[];

/**
 * Queries: evaluate them, never submit. `credential:ReadPersonalData` in particular must not be
 * submitted, because a submitted response is written into the block.
 */
export const EVALUATE_TXS = [
  'template:Get',
  'template:GetPolicy',
  'permit:Get',
  'permit:GetHistory',
  'permit:GetLedgerHistory',
  'permit:GetFlags',
  'permit:ListLive',
  'permit:ListDue',
  'credential:ReadPersonalData',
  'credential:GetWorker',
  'credential:GetCertificate',
  'credential:ListCertificates',
  'credential:ListGateChecks',
  'credential:GateSnapshot',
  'evidence:List',
  'device:Get',
  'alarm:Get',
  'alarm:ListOpen',
] as const satisfies readonly TxName[];
