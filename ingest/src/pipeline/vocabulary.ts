/**
 * The words of the message standard, from the shared schema. The order of both lists is also the
 * order of the model's features (see features.ts); the training script keeps its own copy, and a
 * test compares the two through the model manifest, so reordering without retraining fails loudly.
 */
export {
  BEHAVIOURS,
  type Behaviour,
  OPERATION_TYPES as PERMIT_TYPES,
  type OperationType as PermitType,
} from '@compliance-ledger/schema';
