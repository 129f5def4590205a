import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpret, type EventView, type PodView } from '../../../src/status/interpret.js';
import { hubEvent, isNewStep, progressStep, STEP_PROGRESS, STEPS, type ProgressStep } from '../../../src/status/progress.js';

const policy = { mainContainer: 'main', failingEventTypes: ['Warning'], eventsShown: 3 };
const objects = ['v1|Secret/secret-s-1', 'apps/v1|Deployment/depl-s-1', 'v1|Service/s-1'];
const pod = (spec: PodView['spec'], status: PodView['status']): PodView => ({
  metadata: { name: 'depl-s-1-abc', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { containers: [{ name: 'main', image: 'jupyter/base-notebook:1' }], ...spec },
  status,
});
const ev = (type: string, reason: string, message: string, at: string): EventView => ({
  type, reason, message, lastTimestamp: at, metadata: { name: `${reason}-${at}` },
});

function step(pods: PodView[], events: EventView[] = [], logTail?: string): ProgressStep {
  const verdict = interpret({ stopPending: false, pods, events, ...(logTail !== undefined ? { logTail } : {}) }, policy);
  return progressStep({ objects, pods, events, verdict, mainContainer: 'main' });
}

test('steps follow the pod: created, scheduled, pulling, started, ready', () => {
  const created = step([]);
  assert.equal(created.step, 'created');
  assert.match(created.detail, /Deployment\/depl-s-1/);
  assert.doesNotMatch(created.detail, /apps\/v1\|/);

  assert.equal(step([pod({}, { phase: 'Pending' })]).step, 'created');
  const scheduled = step([pod({ nodeName: 'node-1' }, { phase: 'Pending' })], [ev('Normal', 'Scheduled', 'assigned', '2026-01-01T00:00:01Z')]);
  assert.equal(scheduled.step, 'scheduled');
  assert.match(scheduled.detail, /node-1/);
  assert.equal(step([pod({}, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] })]).step, 'scheduled');

  const pulling = step([pod({ nodeName: 'node-1' }, { phase: 'Pending' })], [
    ev('Normal', 'Scheduled', 'assigned', '2026-01-01T00:00:01Z'),
    ev('Normal', 'Pulling', 'Pulling image "jupyter/base-notebook:1"', '2026-01-01T00:00:02Z'),
  ]);
  assert.equal(pulling.step, 'pulling');
  assert.equal(pulling.summary, 'Pulling image');
  assert.match(pulling.detail, /Pulling image "jupyter\/base-notebook:1"/);

  const started = step([pod({ nodeName: 'node-1' }, { phase: 'Running', containerStatuses: [{ name: 'main', ready: false, state: { running: {} } }] })]);
  assert.equal(started.step, 'started');
  assert.equal(started.final, false);

  const ready = step([pod({ nodeName: 'node-1' }, { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, state: { running: {} } }] })]);
  assert.equal(ready.step, 'ready');
  assert.equal(ready.final, true);

  const ranks = [created, scheduled, pulling, started, ready].map((s) => s.rank);
  assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b));
  assert.deepEqual(STEPS.map((s) => STEP_PROGRESS[s]), [...STEPS.map((s) => STEP_PROGRESS[s])].sort((a, b) => a - b));
});

test('a failed main container is the failed step with escaped events and log tail', () => {
  const failedPod = pod({ nodeName: 'node-1' }, {
    phase: 'Running',
    containerStatuses: [{ name: 'main', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }],
  });
  const events = [ev('Warning', 'BackOff', 'Back-off restarting <main>', '2026-01-01T00:00:03Z')];
  const failed = step([failedPod], events, 'Traceback: x < y & "z"\n');
  assert.equal(failed.step, 'failed');
  assert.equal(failed.final, true);
  assert.equal(failed.summary, 'Service status is in state terminated');
  const event = hubEvent(failed);
  assert.equal(event.failed, true);
  assert.equal(event.progress, 100);
  assert.match(event.html_message, /^<details><summary>Service status is in state terminated<\/summary><pre>/);
  assert.match(event.html_message, /Back-off restarting &lt;main&gt;/);
  assert.match(event.html_message, /Traceback: x &lt; y &amp; &quot;z&quot;/);
  assert.match(event.html_message, /<\/pre><\/details>$/);
  assert.doesNotMatch(event.html_message, /<main>/);

  // A Warning while waiting (e.g. image cannot be pulled) fails the start, too.
  const waiting = step([pod({ nodeName: 'node-1' }, { phase: 'Pending', containerStatuses: [{ name: 'main', state: { waiting: { reason: 'ErrImagePull' } } }] })],
    [ev('Warning', 'Failed', 'pull access denied', '2026-01-01T00:00:02Z')], '');
  assert.equal(waiting.step, 'failed');
  assert.equal(waiting.summary, 'Service cannot start');
});

test('hub events are the EventBackendSpawner format, text escaped', () => {
  const s = step([pod({ nodeName: '<node>' }, { phase: 'Pending' })]);
  const event = hubEvent(s);
  assert.deepEqual(Object.keys(event).sort(), ['html_message', 'progress']);
  assert.equal(event.progress, STEP_PROGRESS.scheduled);
  assert.equal(event.html_message, '<details><summary>Pod scheduled</summary>Pod depl-s-1-abc scheduled on node &lt;node&gt;.</details>');
  const multi = hubEvent({ ...s, detail: 'a\nb' });
  assert.match(multi.html_message, /a<br>b/);
});

test('isNewStep: one event per step, forward only, nothing after a final step', () => {
  const created = step([]);
  const scheduled = step([pod({ nodeName: 'n' }, { phase: 'Pending' })]);
  const ready = step([pod({ nodeName: 'n' }, { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, state: { running: {} } }] })]);
  assert.equal(isNewStep(undefined, created), true);
  assert.equal(isNewStep(created, created), false);
  assert.equal(isNewStep(created, scheduled), true);
  assert.equal(isNewStep(scheduled, created), false);
  assert.equal(isNewStep(created, ready), true);
  const failed = step([pod({ nodeName: 'n' }, { phase: 'Failed' })], [], '');
  assert.equal(isNewStep(ready, failed), false);
  assert.equal(isNewStep(scheduled, failed), true);
  assert.equal(isNewStep(failed, ready), false);
});
