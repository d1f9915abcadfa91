/**
 * The committed risk model is what model/train.py produces: training runs here, into a temp dir,
 * with the interpreter of the virtualenv that scripts/bootstrap.sh builds from
 * model/requirements.txt (`LEDGER_MODEL_PYTHON`, which scripts/test.sh passes on).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { loadModelFile } from '../../src/model/model-manifest.js';
import { INGEST_DIR, MANIFEST_PATH } from '../support/paths.js';
import { tempDir } from '../support/temp.js';

const MODEL_DIR = join(INGEST_DIR, 'model');
const run = promisify(execFile);

/** The held-out figures model/README.md states, each rounded to the decimals written there. */
const DOCUMENTED = { rocAuc: 0.985, grade4: [0.929, 0.918], grade1: [0.988, 0.704], situationRecallAtGrade4: 0.94 };
/**
 * Other OpenBLAS kernels (a CPU without AVX2, see requireSameBlas) train another model. Measured
 * against Haswell's: SkylakeX's within 0.007 on every figure but grade I recall (0.019 lower),
 * Sandybridge's likewise but grade I recall 0.022 lower; so such a model gets a margin of 0.03.
 */
const OTHER_KERNELS_MARGIN = 0.03;

interface Evaluation {
  heldOut: {
    rocAuc: number;
    byThreshold: Record<string, { precision: number; recall: number }>;
    bySituation: Record<string, { recallAtGrade4: number | null }>;
  };
}

const blasOf = (manifestText: string): string[] => JSON.parse(manifestText).training.blas;

describe('risk model training (model/train.py)', function () {
  // About 20 s on 2 cores; far more when other suites load the machine.
  this.timeout(10 * 60_000);
  const out = tempDir('ingest-model-');
  const committed = (file: string) => readFileSync(join(MODEL_DIR, file), 'utf8');
  const trained = (file: string) => readFileSync(join(out.path, file), 'utf8');

  before(async function () {
    const python = process.env.LEDGER_MODEL_PYTHON;
    const unavailable =
      process.env.LEDGER_MODEL_UNAVAILABLE ?? (python ? undefined : 'LEDGER_MODEL_PYTHON is not set (npm test sets it to the virtualenv bootstrap builds)');
    if (unavailable) {
      for (const t of this.test!.parent!.tests) t.title += ` (skipped: ${unavailable})`;
      this.skip();
    }
    const train = () =>
      run(python!, [join(MODEL_DIR, 'train.py'), '--out', out.path], { maxBuffer: 16 << 20 }).catch((e) => {
        throw new Error(`train.py failed: ${e.stderr || e.message}`);
      });
    await train();
    // With SkylakeX's kernels (model 1.0.0), about one run in a dozen trained other bytes (sha256
    // cf1aa72d… against c8801dca…), cause not found (not the hash seed, OpenBLAS's threads or ASLR).
    // Haswell's gave one model in 16 of 16 runs (2026-12-08); should other bytes come, up to two
    // more runs are trained before the bytes are compared, each other hash printed.
    for (let retry = 0; retry < 2 && !otherKernels() && trained('manifest.json') !== committed('manifest.json'); retry++) {
      console.warn(`train.py gave sha256 ${JSON.parse(trained('manifest.json')).sha256}, not the committed model's; training again`);
      await train();
    }
  });

  after(() => out.remove());

  /** Rounding follows OpenBLAS's CPU kernels, so the bytes can only match where they are the same. */
  function otherKernels(): string | undefined {
    const [here, then] = [blasOf(trained('manifest.json')), blasOf(committed('manifest.json'))];
    if (JSON.stringify(here) === JSON.stringify(then)) return undefined;
    return `OpenBLAS runs ${here.join('; ')} here, the committed model was trained with ${then.join('; ')}`;
  }
  function requireSameBlas(ctx: Mocha.Context) {
    const reason = otherKernels();
    if (reason) {
      ctx.test!.title += ` (skipped: ${reason})`;
      ctx.skip();
    }
  }

  it('produces the committed .onnx byte for byte, with the sha256 of the committed manifest', function () {
    requireSameBlas(this);
    // loadModelFile refuses a file whose hash is not its manifest's: the committed one and ours.
    const committedModel = loadModelFile(MANIFEST_PATH);
    const trainedModel = loadModelFile(join(out.path, 'manifest.json'));
    expect(trainedModel.manifest.sha256).to.equal(committedModel.manifest.sha256);
    expect(Buffer.from(trainedModel.bytes).equals(Buffer.from(committedModel.bytes))).to.equal(true);
  });

  it('writes the committed manifest.json and evaluation.json', function () {
    requireSameBlas(this);
    expect(trained('manifest.json')).to.equal(committed('manifest.json'));
    expect(trained('evaluation.json')).to.equal(committed('evaluation.json'));
  });

  it('meets the held-out figures model/README.md documents', () => {
    const { heldOut } = JSON.parse(trained('evaluation.json')) as Evaluation;
    const margin = otherKernels() ? OTHER_KERNELS_MARGIN : 0;
    function atLeastDocumented(actual: number, documented: number) {
      const decimals = String(documented).split('.')[1]?.length ?? 0;
      expect(actual).to.be.at.least(documented - 0.5 * 10 ** -decimals - margin);
    }
    atLeastDocumented(heldOut.rocAuc, DOCUMENTED.rocAuc);
    const grade = (g: '1' | '4') => Object.entries(heldOut.byThreshold).find(([k]) => k.startsWith(`grade${g}_`))![1];
    for (const g of ['1', '4'] as const) {
      const [precision, recall] = DOCUMENTED[`grade${g}`];
      atLeastDocumented(grade(g).precision, precision!);
      atLeastDocumented(grade(g).recall, recall!);
    }
    const situations = Object.values(heldOut.bySituation);
    expect(situations).to.have.length.greaterThan(5);
    for (const s of situations) atLeastDocumented(s.recallAtGrade4 ?? 0, DOCUMENTED.situationRecallAtGrade4);
  });
});
