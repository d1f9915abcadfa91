import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ALARM_GRADES } from '@compliance-ledger/schema';
import { z } from 'zod';

/** The manifest written by model/train.py next to the .onnx file. */
export const manifestSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  input: z.string(),
  output: z.string(),
  positiveClassIndex: z.number().int().min(0),
  features: z.array(z.string()).min(1),
  gradeThresholds: z.object({ '1': z.number(), '2': z.number(), '3': z.number(), '4': z.number() }),
  goldens: z.array(z.object({ features: z.array(z.number()), score: z.number() })).default([]),
});
export type ModelManifest = z.infer<typeof manifestSchema>;

export interface LoadedModelFile {
  manifest: ModelManifest;
  /** The bytes whose hash matched the manifest: the session is built from these, not re-read. */
  bytes: Uint8Array;
  path: string;
}

export function sha256File(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Loads the manifest and the model it names and refuses a model whose hash differs: every alarm
 * carries the hash, so it must be the hash of the model that actually scored.
 */
export function loadModelFile(manifestPath: string): LoadedModelFile {
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  const thresholds = ALARM_GRADES.map((g) => manifest.gradeThresholds[g]);
  for (let i = 1; i < thresholds.length; i++) {
    if (!(thresholds[i - 1]! > thresholds[i]!)) throw new Error('grade thresholds must fall from grade 1 to grade 4');
  }
  const path = join(dirname(manifestPath), manifest.file);
  const bytes = readFileSync(path);
  const actual = sha256File(bytes);
  if (actual !== manifest.sha256) {
    throw new Error(`model ${path} has sha256 ${actual}, the manifest says ${manifest.sha256}`);
  }
  return { manifest, bytes, path };
}
