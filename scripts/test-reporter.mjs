// A node:test reporter for scripts/test.sh: one JSON line per test file when it ends
// ({file, startMs, endMs, passed, failed}; times in ms since the epoch), for the table
// of file times that scripts/test-times.ts prints at the end of `npm test`. Runs beside
// the spec reporter:
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./scripts/test-reporter.mjs --test-reporter-destination=times.jsonl ...
// Plain JavaScript: Node 20 loads reporters before the tsx loader of --import.

/** @param {AsyncIterable<import('node:test/reporters').TestEvent>} source */
export default async function* fileTimes(source) {
  /** @type {Map<string, {passed: number, failed: number}>} */
  const counts = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail' && event.type !== 'test:complete') continue;
    const { file, name } = event.data;
    if (file === undefined) continue;
    const count = counts.get(file) ?? { passed: 0, failed: 0 };
    counts.set(file, count);
    if (name === file) {
      // The file itself (its process) has ended: test:complete carries its duration.
      if (event.type !== 'test:complete') continue;
      const endMs = Date.now();
      const line = { file, startMs: Math.round(endMs - event.data.details.duration_ms), endMs, ...count };
      // A file that fails outside its tests (a crash, a failed hook) counts as a failure.
      if (!event.data.details.passed && count.failed === 0) line.failed = 1;
      yield `${JSON.stringify(line)}\n`;
    } else if (event.type !== 'test:complete' && event.data.details.type !== 'suite') {
      if (event.type === 'test:pass') count.passed++;
      else count.failed++;
    }
  }
}
