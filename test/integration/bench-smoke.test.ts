// The bench (npm run bench) at tiny sizes on the real control plane: every
// scenario runs end to end and its result JSON has the figures; polls cost no
// apiserver request; nothing fails. The real sizes are not part of the tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runBench } from '../../bench/lib/bench.js';
import type { BenchResults } from '../../bench/lib/results.js';

const finite = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v), `${what} is a number: ${String(v)}`);

test('bench smoke: poll, start-storm, stop-storm, memory and auth at tiny sizes', { timeout: 480_000 }, async (t) => {
  const outDir = mkdtempSync(path.join(tmpdir(), 'k8smgr-bench-smoke-'));
  t.after(() => rmSync(outDir, { recursive: true, force: true }));
  const lines: string[] = [];
  const { results, jsonPath, table } = await runBench({ scenario: 'all', smoke: true, outDir, runtime: 'tsx', updateDocs: false, log: (l) => lines.push(l) });
  assert.equal(path.dirname(jsonPath), outDir);
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResults;
  assert.deepEqual(json.targets, results.targets);
  assert.equal(json.machine.cores > 0, true);

  // poll: figures there, no errors, no apiserver request.
  assert.equal(json.poll.length, 1, lines.join('\n'));
  const poll = json.poll[0]!;
  assert.equal(poll.services, 5);
  assert.ok(poll.outpostSaturated && poll.outpostPaced, 'the Outpost API\'s polls were measured');
  for (const run of [poll.saturated, poll.paced, poll.outpostSaturated, poll.outpostPaced]) {
    assert.ok(run.requests > 0, 'some polls were answered');
    finite(run.perSecond, 'polls/s');
    for (const k of ['p50', 'p99', 'max'] as const) finite(run.latencyMs[k], `latency ${k}`);
    assert.equal(run.errors + run.timeouts + run.non2xx, 0, JSON.stringify(run.statusCodes));
    assert.equal(run.apiRequests, 0, `apiserver requests during polls: ${run.apiRequestList.join(', ')}`);
    assert.equal(run.apiRequestsPerPoll, 0);
    finite(run.managerCpuUsPerPoll, 'manager CPU per poll');
  }

  // start-storm and stop-storm.
  assert.equal(json.startStorm.length, 1);
  const storm = json.startStorm[0]!;
  assert.equal(storm.starts, 3);
  assert.equal(storm.start.errors, 0, storm.start.errorSamples.join('\n'));
  for (const m of [storm.start.postMs, storm.start.podRunningMs, storm.start.managerRunningMs, storm.start.bareApiMs]) finite(m.p99, 'storm time');
  assert.ok(storm.start.apiRequestsPerStart >= 4, `a start makes its API calls: ${JSON.stringify(storm.start.apiRequestsByVerb)}`);
  assert.equal(storm.stop.errors, 0);
  finite(storm.stop.deleteMs.p99, 'DELETE time');
  finite(storm.stop.goneSeconds, 'time until nothing is left');

  // memory at 0 and 5 services.
  assert.deepEqual(json.memory.map((m) => m.services), [0, 5]);
  for (const m of json.memory) {
    assert.ok(m.rssMiB > 10 && m.rssMiB < 2048, `RSS ${m.rssMiB} MiB`);
    finite(m.heapUsedMiB, 'heap used');
  }

  // auth: Basic and token.
  assert.deepEqual(json.auth.map((a) => a.scheme), ['basic', 'token']);
  for (const a of json.auth) {
    assert.ok(a.perSecond > 0, `${a.scheme} polls/s`);
    assert.equal(a.errors + a.non2xx, 0, `${a.scheme} errors`);
  }

  for (const heading of ['**Poll**', '**Start storm**', '**Memory**', '**Auth**', '**Targets of issue #10**']) assert.ok(table.includes(heading), heading);
  assert.ok(json.targets.some((t) => t.name === 'apiserver requests per poll' && t.met === true));
});
