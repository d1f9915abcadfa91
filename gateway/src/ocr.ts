/**
 * Certificate OCR (特种作业操作证): an image in, candidate fields out — number, name, category,
 * item, validity dates — each with the OCR confidence of the line it came from. Nothing here
 * touches the ledger: a person confirms or corrects the fields and then calls POST /v1/certificates.
 * tesseract.js runs with local language data (eng + chi_sim from @tesseract.js-data), never a CDN,
 * and caches nothing into the working directory.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { createWorker, type Worker } from 'tesseract.js';

const require = createRequire(import.meta.url);

export interface OcrField {
  value: string;
  /** 0-100: confidence of the recognised line the value was taken from. */
  confidence: number;
}
export interface OcrResult {
  fields: {
    certificateNo: OcrField | null;
    name: OcrField | null;
    category: OcrField | null;
    /** The ledger's category id for a recognised category (e.g. welding_cutting), when known. */
    categoryId: string | null;
    item: OcrField | null;
    validFrom: OcrField | null;
    validUntil: OcrField | null;
    reviewDue: OcrField | null;
  };
  text: string;
  confidence: number;
  language: string;
  requiresConfirmation: true;
}

/** Known categories (作业类别) with the ids the chaincode's templates require. */
export const CATEGORY_IDS: { id: string; names: RegExp }[] = [
  { id: 'welding_cutting', names: /焊接与热切割|welding|thermal cutting/i },
  { id: 'electrician', names: /电工|electric/i },
  { id: 'work_at_height', names: /高处作业|work(ing)? at height/i },
  { id: 'lifting_equipment', names: /起重|吊装|lifting|hoisting/i },
  { id: 'refrigeration', names: /制冷|refrigerat/i },
  { id: 'hazardous_chemicals', names: /危险化学品|hazardous chemical/i },
];

/** Directory with eng and chi_sim traineddata side by side (tesseract.js wants one langPath). */
export function languageDir(configured?: string): string {
  if (configured) return configured;
  const dir = path.join(os.tmpdir(), `gateway-tessdata-${process.getuid?.() ?? 'u'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const lang of ['eng', 'chi_sim']) {
    const target = path.join(dir, `${lang}.traineddata.gz`);
    if (!fs.existsSync(target)) {
      const pkg = path.dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`));
      fs.copyFileSync(path.join(pkg, '4.0.0_best_int', `${lang}.traineddata.gz`), target);
    }
  }
  return dir;
}

const CJK = '\\u3400-\\u9fff\\uf900-\\ufaff';
/** Tesseract puts spaces between CJK characters; drop them, and unify full-width punctuation. */
export function normaliseLine(s: string): string {
  return s
    .replace(new RegExp(`(?<=[${CJK}])\\s+(?=[${CJK}])`, 'g'), '')
    .replace(/：/g, ':')
    .replace(/（/g, '(')
    .replace(/）/g, ')')
    .replace(/[—–－~～]/g, '-')
    .replace(/\s+/g, ' ')
    .replace(/\s*:\s*/g, ': ')
    .trim();
}

function normaliseDate(s: string): string | null {
  const m = /(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})/.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  return `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

interface Line {
  text: string;
  confidence: number;
}

const LABELS = {
  certificateNo: /^(?:证\s*号|证书编号|操作证号|certificate\s*no\.?|cert(?:ificate)?\s*number|no\.)\s*[:.]?\s*(.+)$/i,
  name: /^(?:姓\s*名|name)\s*[:.]?\s*(.+)$/i,
  category: /^(?:作业类别|category)\s*[:.]?\s*(.+)$/i,
  item: /^(?:准操项目|操作项目|[il1|]tem|operation\s*[il1|]tem)\s*[:.]?\s*(.+)$/i,
  validFrom: /^(?:初领日期|有效期起|valid\s*from|issued?(?:\s*on)?)\s*[:.]?\s*(.+)$/i,
  validUntil: /^(?:有效期至|有效期止|valid\s*until|expires?(?:\s*on)?)\s*[:.]?\s*(.+)$/i,
  period: /^(?:有效期限|有效期|validity|valid)\s*[:.]?\s*(.+)$/i,
  reviewDue: /^(?:应复审日期|复审日期|review\s*due)\s*[:.]?\s*(.+)$/i,
};

/** Pulls the fields out of recognised lines (exported for unit tests). */
export function extractFields(lines: Line[]): OcrResult['fields'] {
  const f: OcrResult['fields'] = {
    certificateNo: null,
    name: null,
    category: null,
    categoryId: null,
    item: null,
    validFrom: null,
    validUntil: null,
    reviewDue: null,
  };
  const conf = (c: number) => Math.round(c * 10) / 10;
  for (const raw of lines) {
    const text = normaliseLine(raw.text);
    if (!text) continue;
    let m: RegExpExecArray | null;
    if (!f.certificateNo && (m = LABELS.certificateNo.exec(text))) {
      const v = m[1]!.replace(/\s+/g, '').toUpperCase();
      f.certificateNo = { value: v, confidence: conf(raw.confidence) };
    } else if (!f.name && (m = LABELS.name.exec(text))) f.name = { value: m[1]!.trim(), confidence: conf(raw.confidence) };
    else if (!f.category && (m = LABELS.category.exec(text))) f.category = { value: m[1]!.trim(), confidence: conf(raw.confidence) };
    else if (!f.item && (m = LABELS.item.exec(text))) f.item = { value: m[1]!.trim(), confidence: conf(raw.confidence) };
    else if ((m = LABELS.reviewDue.exec(text))) {
      const d = normaliseDate(m[1]!);
      if (d) f.reviewDue = { value: d, confidence: conf(raw.confidence) };
    } else if ((m = LABELS.validFrom.exec(text))) {
      const d = normaliseDate(m[1]!);
      if (d) f.validFrom = { value: d, confidence: conf(raw.confidence) };
    } else if ((m = LABELS.validUntil.exec(text))) {
      const d = normaliseDate(m[1]!);
      if (d) f.validUntil = { value: d, confidence: conf(raw.confidence) };
    } else if ((m = LABELS.period.exec(text))) {
      const parts = m[1]!
        .split(/\s*(?:至|到|to|-{1,2}(?=\s*\d{4}))\s*/i)
        .map(normaliseDate)
        .filter((x): x is string => x !== null);
      if (parts.length >= 2) {
        f.validFrom ??= { value: parts[0]!, confidence: conf(raw.confidence) };
        f.validUntil = { value: parts[parts.length - 1]!, confidence: conf(raw.confidence) };
      } else if (parts.length === 1) f.validUntil = { value: parts[0]!, confidence: conf(raw.confidence) };
    }
  }
  if (f.category) f.categoryId = CATEGORY_IDS.find((c) => c.names.test(f.category!.value))?.id ?? null;
  return f;
}

export class OcrService {
  private worker: Promise<Worker> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly langDir: string) {}

  private getWorker(): Promise<Worker> {
    this.worker ??= createWorker(['chi_sim', 'eng'], 1, { langPath: this.langDir, cacheMethod: 'none', gzip: true });
    return this.worker;
  }

  /** Recognises one image; calls are serialised on one worker. */
  recognize(image: Buffer): Promise<OcrResult> {
    const run = async (): Promise<OcrResult> => {
      const w = await this.getWorker();
      const { data } = await w.recognize(image, {}, { text: true, blocks: true });
      const lines: Line[] = [];
      for (const b of data.blocks ?? []) for (const p of b.paragraphs) for (const l of p.lines) lines.push({ text: l.text, confidence: l.confidence });
      return {
        fields: extractFields(lines),
        text: lines.map((l) => normaliseLine(l.text)).join('\n'),
        confidence: data.confidence,
        language: 'chi_sim+eng',
        requiresConfirmation: true,
      };
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    if (this.worker) await (await this.worker).terminate();
    this.worker = undefined;
  }
}
