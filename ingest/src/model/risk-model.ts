import * as ort from 'onnxruntime-node';
import { FEATURE_COUNT, FEATURE_NAMES } from './features.js';
import type { LoadedModelFile, ModelManifest } from './model-manifest.js';

/** Scores rows of features with the ONNX model; one call scores a whole batch. */
export class RiskModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly manifest: ModelManifest,
  ) {}

  static async load(file: LoadedModelFile, options: { threads?: number } = {}): Promise<RiskModel> {
    const names = file.manifest.features;
    if (names.length !== FEATURE_COUNT || names.some((n, i) => n !== FEATURE_NAMES[i])) {
      throw new Error(`model ${file.manifest.version} expects other features than this service builds`);
    }
    const session = await ort.InferenceSession.create(file.bytes, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new RiskModel(session, file.manifest);
  }

  /** `rows` holds `count` rows of FEATURE_COUNT values; returns one score in 0..1 per row. */
  async scoreRows(rows: Float32Array, count: number): Promise<Float32Array> {
    if (rows.length !== count * FEATURE_COUNT) throw new Error('feature buffer does not match the row count');
    if (count === 0) return new Float32Array(0);
    const input = new ort.Tensor('float32', rows, [count, FEATURE_COUNT]);
    const result = await this.session.run({ [this.manifest.input]: input }, [this.manifest.output]);
    const probabilities = result[this.manifest.output]!.data as Float32Array;
    const classes = probabilities.length / count;
    const scores = new Float32Array(count);
    for (let i = 0; i < count; i++) scores[i] = probabilities[i * classes + this.manifest.positiveClassIndex]!;
    return scores;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
