#!/usr/bin/env node
// Biome's formatter wraps code at 160 columns but leaves long strings and template literals alone,
// so this check covers what it cannot: no line of TypeScript in the tree is wider than the limit.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const limit = Number(process.env.LEDGER_MAX_LINE_LENGTH ?? 160);
const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mts', '*.cts'], { encoding: 'utf8' })
  .split('\n')
  .filter((f, i, all) => f && !f.includes('/dist/') && all.indexOf(f) === i);
const long = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // listed by git but deleted in the working tree
  }
  text.split('\n').forEach((line, i) => {
    const width = [...line].length; // characters, not UTF-16 units or bytes: Chinese labels count once
    if (width > limit) long.push(`${file}:${i + 1}: ${width} characters`);
  });
}
if (long.length > 0) {
  process.stderr.write(`${long.length} line(s) wider than ${limit} characters; split them:\n${long.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`line length: ${files.length} files, no line over ${limit} characters\n`);
