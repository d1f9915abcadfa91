/**
 * The words of the message standard. The order of both lists is also the order of the model's
 * features (see features.ts); the training script keeps its own copy, and a test compares the two
 * through the model manifest, so reordering here without retraining fails loudly.
 */
export const BEHAVIOURS = [
  'no_helmet',
  'no_harness',
  'no_protective_clothing',
  'smoking',
  'warning_zone_intrusion',
  'fatigue',
  'guardian_absent',
  'fire_smoke',
  'phone_use',
  'unauthorized_person',
  'person_down',
  'extinguisher_missing',
] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/** The eight special operations of GB 30871; each needs its own permit. */
export const PERMIT_TYPES = [
  'hot_work',
  'confined_space',
  'blind_plate',
  'work_at_height',
  'lifting',
  'temporary_electricity',
  'excavation',
  'road_breaking',
] as const;
export type PermitType = (typeof PERMIT_TYPES)[number];
