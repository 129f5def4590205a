// Runs test files side by side for scripts/test.sh with node:test's run(), which keeps
// the order it is given (`node --test` sorts its files by name): the files that took
// longest in the last run start first, so that no long file starts last and ends late;
// files without a recorded time (new ones) start first of all. Prints the spec report
// and writes one JSON line per file (its start and end, tests passed and failed) for
// scripts/test-times.ts.
//
//   node --import tsx scripts/run-tests.ts --concurrency 3 --times <out.jsonl> \
//     [--record <test-times.json>] <file>...
//
// The files' processes inherit this process's --import tsx. Exits 1 when a test failed.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { parseArgs } from 'node:util';
import { readRecord, type FileTime } from './test-record.js';

const { values, positionals } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '3' },
    times: { type: 'string' },
    record: { type: 'string' },
    timeout: { type: 'string', default: '900000' },
  },
  allowPositionals: true,
});

const record = readRecord(values.record);
const rel = (f: string): string => path.relative(process.cwd(), f);
const last = (f: string): number => record[rel(f)] ?? Number.POSITIVE_INFINITY;
const files = positionals.map((f) => path.resolve(f)).sort((a, b) => last(b) - last(a) || a.localeCompare(b));

const times = new Map<string, FileTime & { ok: boolean }>(files.map((file) => [file, { file, startMs: 0, endMs: 0, passed: 0, failed: 0, ok: true }]));
// Tests declared in a helper module (test/e2e/journeys.ts) carry the helper's path: they
// count for the file whose tests are being reported (node:test reports one file's tests
// together, in order; test:complete comes when a test ends, not in that order).
let current: string | undefined;

const stream = run({ files, concurrency: Number(values.concurrency), timeout: Number(values.timeout) });
stream.on('test:start', (data) => {
  if (data.name !== data.file && data.file !== undefined && times.has(data.file)) current = data.file;
});
const count = (data: { file?: string; name: string; details: { type?: 'suite' | 'test' } }, passed: boolean): void => {
  if (data.file === undefined || data.name === data.file || data.details.type === 'suite') return;
  const t = times.get(data.file) ?? (current === undefined ? undefined : times.get(current));
  if (!t) return;
  if (passed) t.passed++;
  else t.failed++;
};
stream.on('test:pass', (data) => count(data, true));
stream.on('test:fail', (data) => {
  if (data.todo === undefined || data.todo === false) process.exitCode = 1; // a failing todo test does not fail the run
  count(data, false);
});
stream.on('test:complete', (data) => {
  const t = data.file === undefined ? undefined : times.get(data.file);
  if (!t || data.name !== data.file) return;
  // The file's process has ended (its tests' events may still be on their way).
  t.endMs = Date.now();
  t.startMs = Math.round(t.endMs - data.details.duration_ms);
  t.ok = data.details.passed;
});
stream.once('end', () => {
  if (values.times === undefined) return;
  for (const { ok, ...t } of times.values()) {
    if (t.endMs === 0) continue; // did not run to its end
    // A file that fails outside its tests (a crash, a failed hook) counts as a failure.
    appendFileSync(values.times, `${JSON.stringify({ ...t, failed: !ok && t.failed === 0 ? 1 : t.failed })}\n`);
  }
});
stream.pipe(new spec()).pipe(process.stdout);
