import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpret, escapeHtml, type PodView, type EventView } from '../../../src/status/interpret.js';

const policy = { mainContainer: 'main', failingEventTypes: ['Warning'], eventsShown: 2 };
const pod = (status: PodView['status'], name = 'p1', created = '2026-01-01T00:00:00Z'): PodView => ({
  metadata: { name, creationTimestamp: created },
  spec: { containers: [{ name: 'main' }] },
  status,
});
const ev = (type: string, reason: string, message: string, at: string): EventView => ({
  type, reason, message, lastTimestamp: at, metadata: { name: `${reason}-${at}` },
});

test('no pod yet: starting, running true', () => {
  const v = interpret({ stopPending: false, pods: [], events: [] }, policy);
  assert.equal(v.running, true);
  assert.equal(v.state, 'starting');
  assert.deepEqual(v.details, { error: '', detailed_error: '' });
});

test('pending pod with normal events is starting; running and ready is running', () => {
  const pending = interpret({ stopPending: false, pods: [pod({ phase: 'Pending' })], events: [ev('Normal', 'Scheduled', 'ok', '2026-01-01T00:00:01Z')] }, policy);
  assert.equal(pending.running, true);
  assert.equal(pending.state, 'starting');
  const ready = interpret({
    stopPending: false,
    pods: [pod({ phase: 'Running', containerStatuses: [{ name: 'main', ready: true, state: { running: {} } }] })],
    events: [],
  }, policy);
  assert.deepEqual(ready, { running: true, state: 'running', details: { error: '', detailed_error: '' } });
});

test('a terminated main container fails with the last events and the log tail, HTML-escaped', () => {
  const events = [
    ev('Normal', 'Scheduled', 'first', '2026-01-01T00:00:01Z'),
    ev('Normal', 'Pulled', 'image <x>', '2026-01-01T00:00:02Z'),
    ev('Warning', 'BackOff', 'restarting "main"', '2026-01-01T00:00:03Z'),
  ];
  const pods = [pod({ phase: 'Running', containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 1, reason: 'Error' } } }] })];
  const first = interpret({ stopPending: false, pods, events }, policy);
  assert.equal(first.running, false);
  assert.equal(first.details.error, 'Service status is in state terminated');
  assert.deepEqual(first.needsLogTail, { pod: 'p1', container: 'main' });
  const withLog = interpret({ stopPending: false, pods, events, logTail: 'Traceback <module>\nValueError: x & y\n' }, policy);
  assert.equal(withLog.needsLogTail, undefined);
  assert.equal(
    withLog.details.detailed_error,
    'Events:\n2026-01-01T00:00:02.000Z Normal Pulled: image &lt;x&gt;\n2026-01-01T00:00:03.000Z Warning BackOff: restarting &quot;main&quot;' +
      '\n\nLogs:\nTraceback &lt;module&gt;\nValueError: x &amp; y',
  );
});

test('a waiting container with a Warning among the last events cannot start', () => {
  const pods = [pod({ phase: 'Pending', containerStatuses: [{ name: 'main', state: { waiting: { reason: 'ImagePullBackOff' } } }] })];
  const v = interpret({ stopPending: false, pods, events: [ev('Warning', 'Failed', 'pull failed', '2026-01-01T00:00:05Z')], logTail: '' }, policy);
  assert.equal(v.running, false);
  assert.equal(v.details.error, 'Service cannot start');
  assert.match(v.details.detailed_error, /Warning Failed: pull failed/);
  const otherType = interpret({ stopPending: false, pods, events: [ev('Warning', 'Failed', 'x', '2026-01-01T00:00:05Z')] }, { ...policy, failingEventTypes: ['Error'] });
  assert.equal(otherType.running, true);
});

test('pod phases Failed and Succeeded, crash loops, and stop pending', () => {
  assert.equal(interpret({ stopPending: false, pods: [pod({ phase: 'Failed' })], events: [] }, policy).details.error, 'Service status is Failed');
  assert.equal(interpret({ stopPending: false, pods: [pod({ phase: 'Succeeded' })], events: [] }, policy).details.error, 'Service status is Succeeded');
  const crash = pod({ phase: 'Running', containerStatuses: [{ name: 'main', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 2 } } }] });
  assert.equal(interpret({ stopPending: false, pods: [crash], events: [] }, policy).running, false);
  const stopping = interpret({ stopPending: true, pods: [], events: [] }, policy);
  assert.equal(stopping.running, false);
  assert.equal(stopping.state, 'stopping');
});

test('the newest pod that is not being deleted decides', () => {
  const old = { ...pod({ phase: 'Failed' }, 'old', '2026-01-01T00:00:00Z') };
  const fresh = pod({ phase: 'Running', containerStatuses: [{ name: 'main', ready: true, state: { running: {} } }] }, 'new', '2026-01-01T00:01:00Z');
  assert.equal(interpret({ stopPending: false, pods: [old, fresh], events: [] }, policy).state, 'running');
  const deleting = { ...fresh, metadata: { ...fresh.metadata, deletionTimestamp: '2026-01-01T00:02:00Z' } };
  assert.equal(interpret({ stopPending: false, pods: [old, deleting], events: [] }, policy).state, 'failed');
});

test('escapeHtml escapes the five characters', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});
