import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATIONS, createdByValue, creatorLoss, INTERRUPTED_MESSAGE, judgeLifecycle, lifecycleOf, nextChore, nextDeadline, type Presence } from '../../../src/services/lifecycle.js';
import type { PresenceState } from '../../../src/kube/presence.js';
import { interpret, NOT_STARTED, type PodView } from '../../../src/status/interpret.js';

const T0 = Date.parse('2026-11-30T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const anchor = (annotations: Record<string, string>, deleting = false) => ({
  metadata: { name: 'k8smgr-x', annotations, ...(deleting ? { deletionTimestamp: iso(T0) } : {}) },
});
/** What the presence records say, by process id (everyone else: live). */
const presenceOf = (states: Record<string, PresenceState>): Presence => (id) => states[id] ?? 'live';
const self = presenceOf({});
const policy = { failedCleanupSeconds: 300, failedRetentionSeconds: 86_400 };
const creating = (until: number, by = 'mgr-b_b1') => ({
  [ANNOTATIONS.phase]: 'creating', [ANNOTATIONS.createdBy]: by, [ANNOTATIONS.creatingUntil]: iso(until),
});

test('a start being created answers starting until its deadline, then interrupted, on any replica', () => {
  const lc = lifecycleOf(anchor(creating(T0 + 20_000)));
  assert.deepEqual(judgeLifecycle(lc, T0 + 1000), { running: true, state: 'starting', details: { error: '', detailed_error: '' } });
  const late = judgeLifecycle(lc, T0 + 21_000);
  assert.equal(late?.running, false);
  assert.equal(late?.state, 'failed');
  assert.equal(late?.details.error, INTERRUPTED_MESSAGE);
});

test('a created start is judged by its pods; a deleted anchor is stopping', () => {
  assert.equal(judgeLifecycle(lifecycleOf(anchor({ [ANNOTATIONS.phase]: 'created' })), T0), undefined);
  assert.equal(judgeLifecycle(lifecycleOf(anchor({ [ANNOTATIONS.phase]: 'created' }, true)), T0)?.state, 'stopping');
  // Anchors made before the lifecycle annotations existed: the pods decide.
  assert.equal(judgeLifecycle(lifecycleOf(anchor({})), T0), undefined);
});

test('a recorded failure is the answer from then on, whatever the pods do', () => {
  const failure = { error: 'Service status is in state terminated', detailed_error: 'Events: ...' };
  const lc = lifecycleOf(anchor({ [ANNOTATIONS.phase]: 'created', [ANNOTATIONS.failedAt]: iso(T0), [ANNOTATIONS.failure]: JSON.stringify(failure) }));
  assert.deepEqual(judgeLifecycle(lc, T0 + 5000), { running: false, state: 'failed', details: failure });
});

test('a stop time answers the reason once reached', () => {
  const lc = lifecycleOf(anchor({ [ANNOTATIONS.phase]: 'created', [ANNOTATIONS.stopAt]: iso(T0 + 60_000), [ANNOTATIONS.stopReason]: 'Runtime limit of 1 minute reached' }));
  assert.equal(judgeLifecycle(lc, T0 + 59_000), undefined);
  assert.deepEqual(judgeLifecycle(lc, T0 + 60_000), { running: false, state: 'failed', details: { error: 'Runtime limit of 1 minute reached', detailed_error: '' } });
});

test('createdBy names the process: `<replica>_<boot>`', () => {
  assert.equal(createdByValue({ replica: 'mgr-a', boot: '1a2b3c4d' }), 'mgr-a_1a2b3c4d');
});

test('a start whose creator is gone by its presence record is interrupted; one of the same name that lives is not', () => {
  const lc = lifecycleOf(anchor(creating(T0 + 20_000, 'mgr-a_b1')));
  // Another process of the same name (mgr-a_b2) is alive too: the name decides nothing, the record does.
  assert.equal(creatorLoss(lc, presenceOf({ 'mgr-a_b1': 'live' })), undefined);
  assert.equal(nextChore(lc, 'starting', T0, policy, presenceOf({ 'mgr-a_b1': 'live', 'mgr-a_b2': 'live' })), undefined);
  // Expired by the observer's clock: gone, marked at once (before the deadline).
  assert.equal(creatorLoss(lc, presenceOf({ 'mgr-a_b1': 'expired' })), 'gone');
  assert.equal(nextChore(lc, 'starting', T0, policy, presenceOf({ 'mgr-a_b1': 'expired' }))?.kind, 'mark-interrupted');
  // No record in the cache: marked once a read confirms there is none.
  assert.equal(creatorLoss(lc, presenceOf({ 'mgr-a_b1': 'absent' })), 'absent');
  const absent = nextChore(lc, 'starting', T0, policy, presenceOf({ 'mgr-a_b1': 'absent' }));
  assert.equal(absent?.kind, 'mark-interrupted');
  assert.equal(absent?.kind === 'mark-interrupted' && absent.confirm, 'mgr-a_b1');
  // Nothing known (an older version's `<replica>/<boot>`, a cache not listed yet): the deadline decides.
  assert.equal(nextChore(lc, 'starting', T0, policy, presenceOf({ 'mgr-a_b1': 'unknown' })), undefined);
  assert.deepEqual(nextChore(lc, 'starting', T0 + 21_000, policy, presenceOf({ 'mgr-a_b1': 'unknown' })), { kind: 'record-failure' });
  // Past the deadline the clock decides, without asking about the creator.
  assert.deepEqual(nextChore(lc, 'starting', T0 + 21_000, policy, presenceOf({ 'mgr-a_b1': 'absent' })), { kind: 'record-failure' });
  // Only a start being created, not marked or failed yet.
  assert.equal(creatorLoss(lifecycleOf(anchor({ ...creating(T0 + 20_000, 'mgr-a_b1'), [ANNOTATIONS.interrupted]: 'x' })), presenceOf({ 'mgr-a_b1': 'expired' })), undefined);
  assert.equal(creatorLoss(lifecycleOf(anchor({ [ANNOTATIONS.phase]: 'created', [ANNOTATIONS.createdBy]: 'mgr-a_b1' })), presenceOf({ 'mgr-a_b1': 'expired' })), undefined);
});

test('chores: record a live failure, clean up after the grace period, remove after the retention', () => {
  const created = { [ANNOTATIONS.phase]: 'created' };
  assert.equal(nextChore(lifecycleOf(anchor(created)), 'running', T0, policy, self), undefined);
  assert.deepEqual(nextChore(lifecycleOf(anchor(created)), 'failed', T0, policy, self), { kind: 'record-failure' });
  const failed = { ...created, [ANNOTATIONS.failedAt]: iso(T0), [ANNOTATIONS.failure]: '{"error":"x","detailed_error":""}' };
  assert.equal(nextChore(lifecycleOf(anchor(failed)), 'failed', T0 + 299_000, policy, self), undefined);
  assert.deepEqual(nextChore(lifecycleOf(anchor(failed)), 'failed', T0 + 300_000, policy, self), { kind: 'clean-up' });
  assert.equal(nextChore(lifecycleOf(anchor(failed)), 'failed', T0 + 300_000, { ...policy, failedCleanupSeconds: -1 }, self), undefined);
  assert.deepEqual(nextChore(lifecycleOf(anchor(failed)), 'failed', T0, { ...policy, failedCleanupSeconds: 0 }, self), { kind: 'clean-up' });
  const cleaned = { ...failed, [ANNOTATIONS.cleanedUp]: iso(T0 + 300_000) };
  assert.equal(nextChore(lifecycleOf(anchor(cleaned)), 'starting', T0 + 86_399_000, policy, self), undefined);
  assert.deepEqual(nextChore(lifecycleOf(anchor(cleaned)), 'starting', T0 + 86_400_000, policy, self), { kind: 'remove' });
  // A start still being created is not judged by its (missing) pods.
  assert.equal(nextChore(lifecycleOf(anchor(creating(T0 + 20_000))), 'failed', T0, policy, self), undefined);
});

test('an interrupted or timed-out start is recorded and cleaned up at once', () => {
  const lc = lifecycleOf(anchor(creating(T0 + 20_000)));
  assert.deepEqual(nextChore(lc, 'starting', T0 + 21_000, policy, self), { kind: 'record-failure' });
  const recorded = lifecycleOf(anchor({ ...creating(T0 + 20_000), [ANNOTATIONS.failedAt]: iso(T0 + 21_000), [ANNOTATIONS.failure]: '{"error":"x"}' }));
  assert.deepEqual(nextChore(recorded, 'starting', T0 + 21_500, policy, self), { kind: 'clean-up' });
});

test('nextDeadline: when the clock alone changes the decision', () => {
  assert.equal(nextDeadline(lifecycleOf(anchor(creating(T0 + 20_000))), T0, policy), 20_001);
  assert.equal(nextDeadline(lifecycleOf(anchor({ [ANNOTATIONS.phase]: 'created' })), T0, policy), undefined);
});

test('a container that never started: the detail says so and no log is asked for', () => {
  const pending: PodView = {
    metadata: { name: 'p', creationTimestamp: iso(T0) },
    spec: { containers: [{ name: 'main' }] },
    status: { phase: 'Pending', containerStatuses: [{ name: 'main', state: { waiting: { reason: 'ImagePullBackOff' } } }] },
  };
  const events = [{ type: 'Warning', reason: 'Failed', message: 'pull failed', lastTimestamp: iso(T0), metadata: { name: 'e' } }];
  const v = interpret({ stopPending: false, pods: [pending], events }, { mainContainer: 'main', failingEventTypes: ['Warning'], eventsShown: 3 });
  assert.equal(v.state, 'failed');
  assert.equal(v.needsLogTail, undefined);
  assert.ok(v.details.detailed_error.includes(NOT_STARTED.replace(/:/, ':')), v.details.detailed_error);
  assert.ok(!/Content-Type/.test(v.details.detailed_error));
});

test('a start that answers only when ready (sync Outpost): its creator\'s until answered; unanswered it ends and goes whole', () => {
  const waiting = { [ANNOTATIONS.phase]: 'created', [ANNOTATIONS.createdBy]: 'mgr-a_a1', [ANNOTATIONS.creatingUntil]: iso(T0 + 20_000), [ANNOTATIONS.answerBy]: iso(T0 + 40_000) };
  const lc = lifecycleOf(anchor(waiting));
  // While it waits, the pods decide (it may be polled); past its answer time it is interrupted.
  assert.equal(judgeLifecycle(lc, T0 + 30_000), undefined);
  assert.equal(judgeLifecycle(lc, T0 + 41_000)?.details.error, INTERRUPTED_MESSAGE);
  assert.equal(nextChore(lc, 'starting', T0 + 30_000, policy, self), undefined);
  assert.deepEqual(nextChore(lc, 'starting', T0 + 41_000, policy, self), { kind: 'record-failure' });
  // Its creator gone before the answer: interrupted at once, like a start still creating.
  assert.equal(creatorLoss(lc, presenceOf({ 'mgr-a_a1': 'expired' })), 'gone');
  assert.equal(nextChore(lc, 'starting', T0 + 30_000, policy, presenceOf({ 'mgr-a_a1': 'expired' }))?.kind, 'mark-interrupted');
  // Recorded and cleaned up: nobody will ask for it, the anchor goes too (no retention).
  const failure = JSON.stringify({ error: INTERRUPTED_MESSAGE, detailed_error: '' });
  const ended = lifecycleOf(anchor({ ...waiting, [ANNOTATIONS.failedAt]: iso(T0 + 41_000), [ANNOTATIONS.failure]: failure }));
  assert.deepEqual(nextChore(ended, 'starting', T0 + 42_000, policy, self), { kind: 'clean-up' });
  const cleaned = lifecycleOf(anchor({ ...waiting, [ANNOTATIONS.failedAt]: iso(T0 + 41_000), [ANNOTATIONS.failure]: failure, [ANNOTATIONS.cleanedUp]: iso(T0 + 42_000) }));
  assert.deepEqual(nextChore(cleaned, 'starting', T0 + 43_000, policy, self), { kind: 'remove' });
  // Answered (the annotation removed): an ordinary start, kept for its retention after a failure.
  const { [ANNOTATIONS.answerBy]: _answered, ...answered } = waiting;
  const later = lifecycleOf(anchor({ ...answered, [ANNOTATIONS.failedAt]: iso(T0 + 41_000), [ANNOTATIONS.failure]: failure, [ANNOTATIONS.cleanedUp]: iso(T0 + 42_000) }));
  assert.equal(nextChore(later, 'starting', T0 + 43_000, policy, self), undefined);
  assert.equal(creatorLoss(lifecycleOf(anchor(answered)), presenceOf({ 'mgr-a_a1': 'expired' })), undefined);
});
