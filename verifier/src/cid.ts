/**
 * The CID an evidence file was recorded under, recomputed from its bytes the way kubo and the
 * gateway import files: CIDv1, 256 KiB fixed chunks as raw leaves, a balanced DAG of dag-pb UnixFS
 * file nodes with at most 174 links, a single chunk being its own raw CID; sha2-256 throughout,
 * base32 text.
 */
import { base32, concat, sha256 } from './bytes.js';

export const CHUNK_BYTES = 262_144;
export const MAX_LINKS = 174;
const RAW = 0x55;
const DAG_PB = 0x70;

function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function field(tag: number, bytes: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(tag), varint(bytes.length), bytes);
}

async function cidBytes(codec: number, block: Uint8Array): Promise<Uint8Array> {
  return concat(Uint8Array.of(0x01), varint(codec), Uint8Array.of(0x12, 0x20), await sha256(block));
}

interface DagNode {
  cid: Uint8Array;
  /** Bytes of the file below this node. */
  fileSize: number;
  /** Tsize: the encoded sizes of the node and everything below it. */
  treeSize: number;
}

async function parent(children: DagNode[]): Promise<DagNode> {
  const fileSize = children.reduce((n, c) => n + c.fileSize, 0);
  // UnixFS Data: Type=File (2), filesize, blocksizes (one per child, unpacked).
  const unixfs = concat(
    Uint8Array.of(0x08, 0x02),
    Uint8Array.of(0x18),
    varint(fileSize),
    ...children.map((c) => concat(Uint8Array.of(0x20), varint(c.fileSize))),
  );
  // dag-pb writes Links (field 2) before Data (field 1); each link: Hash, Name (empty), Tsize.
  const links = children.map((c) => field(0x12, concat(field(0x0a, c.cid), field(0x12, new Uint8Array()), Uint8Array.of(0x18), varint(c.treeSize))));
  const block = concat(...links, field(0x0a, unixfs));
  return { cid: await cidBytes(DAG_PB, block), fileSize, treeSize: block.length + children.reduce((n, c) => n + c.treeSize, 0) };
}

/**
 * Builds a file's CID from its bytes given in order, in pieces of any size, so that a file larger
 * than memory can be checked: only the 256 KiB chunk being filled and the leaves' CIDs are held.
 */
export class CidBuilder {
  private readonly leaves: DagNode[] = [];
  private readonly chunk = new Uint8Array(CHUNK_BYTES);
  private filled = 0;

  async write(bytes: Uint8Array): Promise<void> {
    let at = 0;
    if (this.filled > 0) {
      at = Math.min(bytes.length, CHUNK_BYTES - this.filled);
      this.chunk.set(bytes.subarray(0, at), this.filled);
      this.filled += at;
      if (this.filled < CHUNK_BYTES) return;
      await this.leaf(this.chunk);
      this.filled = 0;
    }
    // Whole chunks straight from the caller's bytes; only a remainder is copied.
    for (; at + CHUNK_BYTES <= bytes.length; at += CHUNK_BYTES) await this.leaf(bytes.subarray(at, at + CHUNK_BYTES));
    this.chunk.set(bytes.subarray(at), 0);
    this.filled = bytes.length - at;
  }

  async end(): Promise<string> {
    // An empty file is one empty raw leaf, as kubo imports it.
    if (this.filled > 0 || this.leaves.length === 0) await this.leaf(this.chunk.subarray(0, this.filled));
    this.filled = 0;
    let level = this.leaves.splice(0);
    while (level.length > 1) {
      const next: DagNode[] = [];
      for (let i = 0; i < level.length; i += MAX_LINKS) next.push(await parent(level.slice(i, i + MAX_LINKS)));
      level = next;
    }
    return `b${base32(level[0]!.cid)}`;
  }

  private async leaf(chunk: Uint8Array): Promise<void> {
    this.leaves.push({ cid: await cidBytes(RAW, chunk), fileSize: chunk.length, treeSize: chunk.length });
  }
}

export async function computeCid(content: Uint8Array): Promise<string> {
  const builder = new CidBuilder();
  await builder.write(content);
  return builder.end();
}
