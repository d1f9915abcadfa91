/**
 * Creates the PGlite database of a fresh folder and exits: `node pglite-init.js <folder>`.
 *
 * db.ts runs this in a child process of its own. PGlite initialises a folder by running a second
 * Postgres and the initdb program, each in WebAssembly with a memory of its own: in the process
 * that ran them, about 380 MiB stayed resident until V8's next full collection (a minute or more
 * after start) and about 90 MiB for good, so a freshly started indexer sat at 900 MiB and then
 * 500 MiB, against 430 MiB for the same indexer reopening the folder (bench/RESULTS.md, stack
 * memory). Here they go away with the child, and the indexer only ever reopens a folder.
 */
import { PGlite } from '@electric-sql/pglite';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: pglite-init <folder>\n');
  process.exit(1);
}
const instance = new PGlite(dir);
await instance.waitReady;
await instance.close();
