// A node:test reporter for scripts/test.sh: one JSON line per test file ({file, startMs,
// endMs, passed, failed}; times in ms since the epoch), written when the run ends, for
// the table of file times that scripts/test-times.ts prints at the end of `npm test`.
// Runs beside the spec reporter:
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./scripts/test-reporter.mjs --test-reporter-destination=times.jsonl ...
// Plain JavaScript: Node 20 loads reporters before the tsx loader of --import.

/** @param {AsyncIterable<import('node:test/reporters').TestEvent>} source */
export default async function* fileTimes(source) {
  /** @type {Map<string, {file: string, startMs: number, endMs: number, passed: number, failed: number, ok: boolean}>} */
  const files = new Map();
  const of = (/** @type {string} */ file) => {
    let f = files.get(file);
    if (!f) files.set(file, (f = { file, startMs: 0, endMs: 0, passed: 0, failed: 0, ok: true }));
    return f;
  };
  // Tests declared by a helper module (test/e2e/journeys.ts) carry the helper's path:
  // they count for the test file whose tests were reported last (node:test reports
  // the tests of one file together, one file after the other).
  let current = '';
  for await (const event of source) {
    const { file, name } = event.data ?? {};
    if (file === undefined) continue;
    if (event.type === 'test:enqueue' && name === file) of(file); // a file of this run
    // test:start, test:pass and test:fail come in the reported order; test:complete when it happens.
    if (event.type === 'test:start' && name !== file && files.has(file)) current = file;
    if (event.type !== 'test:pass' && event.type !== 'test:fail' && event.type !== 'test:complete') continue;
    if (name === file) {
      // The file itself (its process): test:complete comes when it ends, with its duration.
      // (Its tests' pass and fail events may come later.)
      if (event.type !== 'test:complete') continue;
      const f = of(file);
      f.endMs = Date.now();
      f.startMs = Math.round(f.endMs - event.data.details.duration_ms);
      f.ok = event.data.details.passed;
    } else if (event.type !== 'test:complete' && event.data.details.type !== 'suite') {
      const f = files.get(file) ?? files.get(current);
      if (!f) continue;
      if (event.type === 'test:pass') f.passed++;
      else f.failed++;
    }
  }
  for (const { ok, ...f } of files.values()) {
    if (f.endMs === 0) continue; // did not end (the run was cut short)
    // A file that fails outside its tests (a crash, a failed hook) counts as a failure.
    yield `${JSON.stringify({ ...f, failed: !ok && f.failed === 0 ? 1 : f.failed })}\n`;
  }
}
