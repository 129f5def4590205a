// The pure decisions of leader election (client-go's semantics) on literal
// Leases and an injected clock, and the elector's rounds over a fake gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, LeaderElector, leaseValid, microTime, observe, released, type Lease } from '../../../src/kube/lease.js';
import type { KubeObject, ObjectRef } from '../../../src/kube/gateway.js';

const REF = { name: 'k8smgr-leader', namespace: 'jhub' };
const T0 = Date.parse('2026-01-01T12:00:00.000Z');

function lease(spec: Lease['spec'], resourceVersion = '7'): Lease {
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: REF.name, namespace: REF.namespace, resourceVersion }, spec };
}

test('microTime has six fractional digits', () => {
  assert.equal(microTime(T0 + 123), '2026-01-01T12:00:00.123000Z');
});

test('no Lease: create it as holder, 15 s, no transition yet', () => {
  const d = decide(undefined, REF, 'pod-a', T0, undefined);
  assert.equal(d.action, 'create');
  assert.deepEqual(d.action === 'create' && d.lease, {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'k8smgr-leader', namespace: 'jhub' },
    spec: { holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: '2026-01-01T12:00:00.000000Z', renewTime: '2026-01-01T12:00:00.000000Z', leaseTransitions: 0 },
  });
});

test('held by another and fresh: wait, whatever the holder\'s renewTime says (our clock decides)', () => {
  // renewTime far in the past (the holder's clock is off): first sight counts as now.
  const other = lease({ holderIdentity: 'pod-b', leaseDurationSeconds: 15, acquireTime: '2020-01-01T00:00:00.000000Z', renewTime: '2020-01-01T00:00:00.000000Z', leaseTransitions: 3 });
  const d = decide(other, REF, 'pod-a', T0, undefined);
  assert.deepEqual([d.action, d.action === 'wait' && d.holder, d.observed.at], ['wait', 'pod-b', T0]);
  // 14.9 s later, unchanged: still valid.
  const d2 = decide(other, REF, 'pod-a', T0 + 14_900, d.observed);
  assert.equal(d2.action, 'wait');
  assert.equal(d2.observed.at, T0, 'an unchanged record keeps its first sighting');
});

test('held by another that renews: the expiry moves with every change of the record', () => {
  const first = decide(lease({ holderIdentity: 'pod-b', leaseDurationSeconds: 15, renewTime: microTime(T0), leaseTransitions: 1 }), REF, 'pod-a', T0, undefined);
  const renewed = lease({ holderIdentity: 'pod-b', leaseDurationSeconds: 15, renewTime: microTime(T0 + 10_000), leaseTransitions: 1 }, '8');
  const second = decide(renewed, REF, 'pod-a', T0 + 10_000, first.observed);
  assert.equal(second.observed.at, T0 + 10_000);
  assert.equal(decide(renewed, REF, 'pod-a', T0 + 24_000, second.observed).action, 'wait');
  assert.equal(decide(renewed, REF, 'pod-a', T0 + 25_000, second.observed).action, 'replace');
});

test('expired Lease of another: take it, one more transition, new acquireTime, resourceVersion kept for the CAS', () => {
  const other = lease({ holderIdentity: 'pod-b', leaseDurationSeconds: 15, acquireTime: microTime(T0 - 60_000), renewTime: microTime(T0), leaseTransitions: 3 });
  const seen = observe(other, undefined, T0);
  assert.equal(leaseValid(other, seen, T0 + 15_000), false);
  const d = decide(other, REF, 'pod-a', T0 + 15_000, seen);
  assert.equal(d.action, 'replace');
  assert.deepEqual(d.action === 'replace' && d.lease, lease({
    holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: '2026-01-01T12:00:15.000000Z', renewTime: '2026-01-01T12:00:15.000000Z', leaseTransitions: 4,
  }));
});

test('our own Lease: renew keeps acquireTime and transitions', () => {
  const ours = lease({ holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0 + 2000), leaseTransitions: 4 });
  const d = decide(ours, REF, 'pod-a', T0 + 4000, undefined);
  assert.equal(d.action, 'replace');
  assert.deepEqual(d.action === 'replace' && d.lease.spec, { holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0 + 4000), leaseTransitions: 4 });
});

test('two processes of one name: the Lease held by the other process of my name is waited for like any other', () => {
  // Held by vm_aaaa0001; vm_bbbb0002 (same host, no POD_NAME) does not take it as its own.
  const held = lease({ holderIdentity: 'vm_aaaa0001', leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0), leaseTransitions: 0 });
  const d = decide(held, REF, 'vm_bbbb0002', T0, undefined);
  assert.deepEqual([d.action, d.action === 'wait' && d.holder], ['wait', 'vm_aaaa0001']);
  // Nor does a restart of that name (a new process id): it waits for the Lease to expire or be released.
  assert.equal(decide(held, REF, 'vm_cccc0003', T0 + 14_999, d.observed).action, 'wait');
  assert.equal(decide(held, REF, 'vm_cccc0003', T0 + 15_000, d.observed).action, 'replace');
  // An older version's holder (the bare name) is another holder too.
  assert.equal(decide(lease({ holderIdentity: 'vm', leaseDurationSeconds: 15, renewTime: microTime(T0) }), REF, 'vm_cccc0003', T0, undefined).action, 'wait');
});

test('a released Lease (no holder) is taken at once', () => {
  const free = lease({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(T0), renewTime: microTime(T0), leaseTransitions: 4 });
  const d = decide(free, REF, 'pod-c', T0 + 10, undefined);
  assert.equal(d.action, 'replace');
  assert.equal(d.action === 'replace' && d.lease.spec?.leaseTransitions, 5);
});

test('release: only by the holder; empty holder, 1 s, transitions kept', () => {
  const ours = lease({ holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0), leaseTransitions: 2 });
  assert.deepEqual(released(ours, 'pod-a', T0 + 1000)?.spec, { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(T0 + 1000), renewTime: microTime(T0 + 1000), leaseTransitions: 2 });
  assert.equal(released(ours, 'pod-b', T0), undefined);
  assert.equal(released(undefined, 'pod-a', T0), undefined);
});

/** An in-memory apiserver for one Lease with resourceVersion CAS. */
function fakeGateway() {
  let stored: Lease | undefined;
  let rv = 0;
  let failing = false;
  const gw = {
    calls: 0,
    /** Reads wait for it while set; `held` counts the reads that waited. */
    hold: undefined as Promise<void> | undefined,
    held: 0,
    get lease() {
      return stored;
    },
    fail(on: boolean) {
      failing = on;
    },
    async read<T extends KubeObject>(_ref: ObjectRef): Promise<T | undefined> {
      gw.calls++;
      if (failing) throw new Error('apiserver unreachable');
      if (gw.hold) {
        gw.held++;
        await gw.hold;
      }
      return stored ? (structuredClone(stored) as unknown as T) : undefined;
    },
    async create<T extends KubeObject>(obj: T): Promise<{ created: true; object: T } | { created: false; conflict: true }> {
      if (failing) throw new Error('apiserver unreachable');
      if (stored) return { created: false, conflict: true };
      stored = { ...(structuredClone(obj) as Lease), metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
      return { created: true, object: structuredClone(stored) as unknown as T };
    },
    async replace<T extends KubeObject>(obj: T): Promise<T | 'conflict' | 'gone'> {
      if (failing) throw new Error('apiserver unreachable');
      if (!stored) return 'gone';
      if (stored.metadata.resourceVersion !== obj.metadata.resourceVersion) return 'conflict';
      stored = { ...(structuredClone(obj) as Lease), metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
      return structuredClone(stored) as unknown as T;
    },
  };
  return gw;
}

test('two electors on one Lease: one leads; the other takes over only after the duration (by its clock) or at once after a release', async () => {
  const gw = fakeGateway();
  let now = T0;
  const clock = () => now;
  const a = new LeaderElector({ gateway: gw, ...REF, identity: 'pod-a', now: clock });
  const b = new LeaderElector({ gateway: gw, ...REF, identity: 'pod-b', now: clock });
  assert.equal(await a.tryAcquireOrRenew(), true);
  assert.equal(await b.tryAcquireOrRenew(), false);
  assert.equal(b.holder(), 'pod-a');
  // pod-a dies silently: 14 s later b still waits, at 15 s it takes over.
  now += 14_000;
  assert.equal(await b.tryAcquireOrRenew(), false);
  now += 1000;
  assert.equal(await b.tryAcquireOrRenew(), true);
  assert.equal(gw.lease?.spec?.holderIdentity, 'pod-b');
  assert.equal(gw.lease?.spec?.leaseTransitions, 1);
  // Graceful hand-over: b starts (leads after its first round) and stops: released, a takes it at once.
  const events: string[] = [];
  b.onStartedLeading(() => events.push('b started'));
  b.onStoppedLeading(() => events.push('b stopped'));
  b.start();
  await waitUntil(() => b.isLeader());
  await b.stop();
  assert.deepEqual(events, ['b started', 'b stopped']);
  assert.equal(gw.lease?.spec?.holderIdentity, '');
  assert.equal(await a.tryAcquireOrRenew(), true);
  assert.equal(gw.lease?.spec?.leaseTransitions, 2);
});

test('a leader that cannot renew within the renew deadline stops leading', async () => {
  const gw = fakeGateway();
  let now = T0;
  const errors: string[] = [];
  const a = new LeaderElector({
    gateway: gw, ...REF, identity: 'pod-a', now: () => now, onError: (e) => errors.push(e.message),
    timings: { leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 20 },
  });
  let stopped = 0;
  a.onStoppedLeading(() => stopped++);
  a.start();
  await waitUntil(() => a.isLeader());
  gw.fail(true);
  now += 150;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(a.isLeader(), true, 'within the deadline it still leads');
  now += 100;
  await waitUntil(() => !a.isLeader());
  assert.equal(stopped, 1);
  assert.ok(errors.includes('apiserver unreachable'));
  await a.stop();
});

test('a leader frozen past the renew deadline does not lead when it resumes: the first question says so, before any round', async () => {
  const gw = fakeGateway();
  let now = T0;
  // Production timings: the next round is 2 s of real time away, so only the clock moves here.
  const a = new LeaderElector({ gateway: gw, ...REF, identity: 'vm_aaaa0001', now: () => now });
  const b = new LeaderElector({ gateway: gw, ...REF, identity: 'vm_bbbb0002', now: () => now });
  const events: string[] = [];
  a.onStartedLeading(() => events.push('a started'));
  a.onStoppedLeading(() => events.push('a stopped'));
  a.start();
  await waitUntil(() => a.isLeader());
  // a freezes (SIGSTOP). b sees its record, and 15 s later by b's clock takes the Lease.
  assert.equal(await b.tryAcquireOrRenew(), false);
  now += 15_000;
  assert.equal(await b.tryAcquireOrRenew(), true);
  // a resumes: whatever asks first (a sweep, a userjob check, a health request) hears "not leading".
  const callsBefore = gw.calls;
  assert.equal(a.isLeader(), false);
  assert.deepEqual(events, ['a started', 'a stopped']);
  assert.equal(gw.calls, callsBefore, 'no round was needed to know it');
  assert.equal(a.holder(), undefined);
  // Its stop does not release b's Lease.
  await a.stop();
  assert.equal(gw.lease?.spec?.holderIdentity, 'vm_bbbb0002');
});

test('a renewal that was in flight while the process was frozen does not make it leader: the claim counts from the round\'s start', async () => {
  const gw = fakeGateway();
  let now = T0;
  const a = new LeaderElector({ gateway: gw, ...REF, identity: 'vm_aaaa0001', now: () => now, timings: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 20 } });
  const events: string[] = [];
  a.onStartedLeading(() => events.push('started'));
  a.onStoppedLeading(() => events.push('stopped'));
  a.start();
  await waitUntil(() => a.isLeader());
  // The next round's read is answered only after the freeze: the apiserver renews, but 12 s passed meanwhile.
  let resume!: () => void;
  gw.hold = new Promise<void>((r) => (resume = r));
  await waitUntil(() => gw.held > 0);
  now += 12_000;
  resume();
  gw.hold = undefined;
  await waitUntil(() => events.length >= 2);
  assert.deepEqual(events.slice(0, 2), ['started', 'stopped'], 'stopped, not renewed from the stale round');
  // Nobody else took the Lease: the next round renews it and a leads again.
  await waitUntil(() => a.isLeader());
  assert.deepEqual(events, ['started', 'stopped', 'started']);
  await a.stop();
});

async function waitUntil(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
