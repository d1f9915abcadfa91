import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, truncateSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * An append-only file of JSON lines whose appends resolve only once the data is on disk.
 * Appends that arrive while a write is in flight are committed together with one fsync (group
 * commit): durability per record without paying one fsync per record under load.
 */
export class AppendLog {
  private queue: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  static async open(path: string): Promise<AppendLog> {
    return new AppendLog(await open(path, 'a'), path);
  }

  append(record: unknown): Promise<void> {
    return this.appendAll([record]);
  }

  /** Appends the records together: one write, one fsync, all on disk or none acknowledged. */
  appendAll(records: readonly unknown[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`append log ${this.path} is closed`));
    if (records.length === 0) return Promise.resolve();
    let line = '';
    for (const record of records) line += `${JSON.stringify(record)}\n`;
    return new Promise((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          await this.handle.write(batch.map((b) => b.line).join(''));
          await this.handle.datasync();
          for (const b of batch) b.resolve();
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.handle.close();
  }
}

/**
 * Reads every record. A crash can leave the last line half written (it was never acknowledged,
 * so nobody relies on it): that tail is cut off. A damaged line anywhere else is real corruption
 * and throws rather than silently skipping records.
 */
export function readAppendLog<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const records: T[] = [];
  let offset = 0;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    const line = end === -1 ? text.slice(offset) : text.slice(offset, end);
    let parsed: T | undefined;
    try {
      parsed = JSON.parse(line) as T;
    } catch {
      parsed = undefined;
    }
    const isTail = end === -1 || end === text.length - 1;
    if (parsed === undefined || end === -1) {
      if (!isTail) throw new Error(`${path}: corrupt record at byte ${Buffer.byteLength(text.slice(0, offset))}`);
      truncateSync(path, Buffer.byteLength(text.slice(0, offset)));
      break;
    }
    records.push(parsed);
    offset = end + 1;
  }
  return records;
}

/** Replaces a log's content atomically: write a sibling, fsync it, rename, fsync the folder. */
export function rewriteAppendLog(path: string, records: readonly unknown[]): void {
  const tmp = `${path}.compact`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
