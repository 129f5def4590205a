// Prints the table of test file times that scripts/test.sh collects with
// scripts/test-reporter.mjs: slowest first, with when each file ran (minutes:seconds
// from the first file's start), and the totals.
//   node --import tsx scripts/test-times.ts times.jsonl [more.jsonl...]
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A line of scripts/test-reporter.mjs. */
interface FileTime {
  file: string;
  startMs: number;
  endMs: number;
  passed: number;
  failed: number;
}

const times: FileTime[] = [];
for (const file of process.argv.slice(2)) {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // a run that did not start (the type check failed) wrote nothing
  }
  for (const line of text.split('\n')) if (line.trim()) times.push(JSON.parse(line) as FileTime);
}
if (times.length === 0) process.exit(0);

const t0 = Math.min(...times.map((t) => t.startMs));
const clock = (ms: number): string => {
  const s = Math.round((ms - t0) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
const rel = (f: string): string => path.relative(process.cwd(), f);
const width = Math.max(...times.map((t) => rel(t.file).length), 4);
const rows = [...times].sort((a, b) => b.endMs - b.startMs - (a.endMs - a.startMs));
console.log(`\nTest files, slowest first (ran from-to: minutes:seconds after the first file started):`);
console.log(`| ${'file'.padEnd(width)} | tests | failed | seconds | ran from-to |`);
console.log(`|${'-'.repeat(width + 2)}|-------|--------|---------|-------------|`);
for (const t of rows) {
  const secs = ((t.endMs - t.startMs) / 1000).toFixed(1);
  console.log(`| ${rel(t.file).padEnd(width)} | ${String(t.passed + t.failed).padStart(5)} | ${String(t.failed).padStart(6)} | ${secs.padStart(7)} | ${`${clock(t.startMs)}-${clock(t.endMs)}`.padStart(11)} |`);
}
const sum = times.reduce((s, t) => s + (t.endMs - t.startMs), 0) / 1000;
const wall = (Math.max(...times.map((t) => t.endMs)) - t0) / 1000;
const tests = times.reduce((s, t) => s + t.passed + t.failed, 0);
const failed = times.reduce((s, t) => s + t.failed, 0);
console.log(`${times.length} files, ${tests} tests, ${failed} failed; ${sum.toFixed(0)} s of file time in ${wall.toFixed(0)} s (${(wall / 60).toFixed(1)} min) of wall clock\n`);
