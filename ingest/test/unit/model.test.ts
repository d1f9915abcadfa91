import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../src/model/features.js';
import { InferenceBatcher } from '../../src/model/inference-batcher.js';
import { loadModelFile, manifestSchema } from '../../src/model/model-manifest.js';
import { RiskModel } from '../../src/model/risk-model.js';
import { seededRandom } from '../../tools/scenarios.js';
import { INGEST_DIR, MANIFEST_PATH } from '../support/paths.js';
import { sharedModel } from '../support/pipeline.js';
import { tempDir } from '../support/temp.js';

/** Plausible area snapshots: mostly normal air, some gas, a few detections and permits. */
function randomRows(count: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  const rows = new Float32Array(count * FEATURE_COUNT);
  for (let r = 0; r < count; r++) {
    const hour = rnd() * 24;
    const gas = rnd() * 9;
    const row = [gas, (gas * 5) / 100 / 0.5, 19.6 + rnd() * 2, rnd() * 6, rnd() * 20, rnd() * 35, rnd() * 9];
    for (let b = 0; b < 12; b++) row.push(rnd() < 0.1 ? 0.5 + rnd() / 2 : 0);
    row.push(Math.sin((2 * Math.PI * hour) / 24), Math.cos((2 * Math.PI * hour) / 24), hour < 6 || hour >= 20 ? 1 : 0);
    for (let p = 0; p < 8; p++) row.push(rnd() < 0.3 ? 1 : 0);
    rows.set(row, r * FEATURE_COUNT);
  }
  return rows;
}

describe('risk model', () => {
  it('manifest sha256 is the sha256 of the committed .onnx file', () => {
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')));
    const bytes = readFileSync(join(INGEST_DIR, 'model', manifest.file));
    expect(createHash('sha256').update(bytes).digest('hex')).to.equal(manifest.sha256);
    // The evaluation report belongs to the same model.
    const evaluation = JSON.parse(readFileSync(join(INGEST_DIR, 'model', 'evaluation.json'), 'utf8'));
    expect(evaluation.sha256).to.equal(manifest.sha256);
    expect(evaluation.heldOut.samples).to.be.greaterThan(1000);
  });

  it('the manifest lists exactly the features the service builds, in order', () => {
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')));
    expect(manifest.features).to.deep.equal([...FEATURE_NAMES]);
  });

  it('refuses a model file whose hash differs from the manifest', () => {
    const dir = tempDir();
    try {
      const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8'));
      copyFileSync(join(INGEST_DIR, 'model', manifest.file), join(dir.path, manifest.file));
      const onnx = readFileSync(join(dir.path, manifest.file));
      onnx.writeUInt8(onnx.readUInt8(onnx.length - 1) ^ 0xff, onnx.length - 1);
      writeFileSync(join(dir.path, manifest.file), onnx);
      writeFileSync(join(dir.path, 'manifest.json'), JSON.stringify(manifest));
      expect(() => loadModelFile(join(dir.path, 'manifest.json'))).to.throw(/sha256/);
    } finally {
      dir.remove();
    }
  });

  it('onnxruntime-node reproduces the scores scikit-learn computed at training time', async () => {
    const { model, manifest } = await sharedModel();
    expect(manifest.goldens.length).to.be.greaterThan(5);
    const rows = new Float32Array(manifest.goldens.flatMap((g) => g.features));
    const scores = await model.scoreRows(rows, manifest.goldens.length);
    manifest.goldens.forEach((g, i) => expect(scores[i]).to.be.closeTo(g.score, 1e-5));
  });

  it('a batch gives the same scores as one call per row', async () => {
    const { model } = await sharedModel();
    const n = 300;
    const rows = randomRows(n, 7);
    const batch = await model.scoreRows(rows, n);
    for (let i = 0; i < n; i++) {
      const single = await model.scoreRows(rows.slice(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), 1);
      expect(single[0]).to.be.closeTo(batch[i]!, 1e-6);
    }
    // The rows differ, so the scores must too: a constant output would pass the check above.
    expect(new Set(Array.from(batch, (s) => s.toFixed(3))).size).to.be.greaterThan(50);
  });

  it('the batcher groups concurrent requests and returns each caller its own score', async () => {
    const { model } = await sharedModel();
    const n = 100;
    const rows = randomRows(n, 11);
    const expected = await model.scoreRows(rows, n);
    const batcher = new InferenceBatcher(model, 32, 0);
    const scores = await Promise.all(Array.from({ length: n }, (_, i) => batcher.score(rows.slice(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT))));
    scores.forEach((s, i) => expect(s).to.be.closeTo(expected[i]!, 1e-6));
    expect(batcher.batches).to.equal(Math.ceil(n / 32));
  });

  it('refuses a feature buffer that does not match the row count', async () => {
    const { model } = await sharedModel();
    let error: unknown;
    try {
      await model.scoreRows(new Float32Array(FEATURE_COUNT + 1), 1);
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/row count/);
  });

  it('loads from the manifest with the expected feature count', async () => {
    const m = await RiskModel.load(loadModelFile(MANIFEST_PATH));
    expect(m.manifest.features).to.have.length(FEATURE_COUNT);
    await m.release();
  });
});
