// The test file times of scripts/test.sh (written by scripts/run-tests.ts):
//
//   test-times.ts table <times.jsonl>...         the table printed at the end of `npm test`:
//                                                slowest first, when each file ran, totals
//   test-times.ts remember <record> <times.jsonl>...   adds this run's times to <record>
//                                                (JSON: file -> seconds, kept between runs;
//                                                run-tests.ts starts the longest files first)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readRecord, type FileTime } from './test-record.js';


function readLines(files: string[]): FileTime[] {
  const times: FileTime[] = [];
  for (const file of files) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // a run that did not start wrote nothing
    }
    for (const line of text.split('\n')) if (line.trim()) times.push(JSON.parse(line) as FileTime);
  }
  return times;
}


const rel = (f: string): string => path.relative(process.cwd(), f);
const seconds = (t: FileTime): number => (t.endMs - t.startMs) / 1000;

function table(times: FileTime[]): void {
  if (times.length === 0) return;
  const t0 = Math.min(...times.map((t) => t.startMs));
  const clock = (ms: number): string => {
    const s = Math.round((ms - t0) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const width = Math.max(...times.map((t) => rel(t.file).length), 4);
  console.log('\nTest files, slowest first (ran from-to: minutes:seconds after the first file started):');
  console.log(`| ${'file'.padEnd(width)} | tests | failed | seconds | ran from-to |`);
  console.log(`|${'-'.repeat(width + 2)}|-------|--------|---------|-------------|`);
  for (const t of [...times].sort((a, b) => seconds(b) - seconds(a))) {
    const span = `${clock(t.startMs)}-${clock(t.endMs)}`;
    console.log(`| ${rel(t.file).padEnd(width)} | ${String(t.passed + t.failed).padStart(5)} | ${String(t.failed).padStart(6)} | ${seconds(t).toFixed(1).padStart(7)} | ${span.padStart(11)} |`);
  }
  const sum = times.reduce((s, t) => s + seconds(t), 0);
  const wall = (Math.max(...times.map((t) => t.endMs)) - t0) / 1000;
  const tests = times.reduce((s, t) => s + t.passed + t.failed, 0);
  const failed = times.reduce((s, t) => s + t.failed, 0);
  console.log(`${times.length} files, ${tests} tests, ${failed} failed; ${sum.toFixed(0)} s of file time in ${wall.toFixed(0)} s (${Math.floor(wall / 60)} min ${Math.round(wall % 60)} s) of wall clock\n`);
}

function remember(recordFile: string, times: FileTime[]): void {
  const record = readRecord(recordFile);
  for (const t of times) record[rel(t.file)] = Math.round(seconds(t) * 10) / 10;
  mkdirSync(path.dirname(recordFile), { recursive: true });
  writeFileSync(recordFile, `${JSON.stringify(record, null, 1)}\n`);
}

const [command, ...args] = process.argv.slice(2);
if (command === 'table') table(readLines(args));
else if (command === 'remember' && args[0]) remember(args[0], readLines(args.slice(1)));
else {
  console.error('usage: test-times.ts table <times.jsonl>... | remember <record> <times.jsonl>...');
  process.exit(2);
}
