// Presence records of the manager's processes: the pure parts on literal
// objects, and processes over an in-memory apiserver with an injected clock:
// two processes of one name see each other apart; a record that is not renewed
// expires by the observer's clock; a graceful stop removes it at once; the
// leader removes records that expired long ago.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newIdentity, parseProcessId, processId, replicaOf } from '../../../src/kube/identity.js';
import { presenceName, presenceRecord, ReplicaPresence, sightingState, type PresenceOptions } from '../../../src/kube/presence.js';
import type { Lease } from '../../../src/kube/lease.js';
import { FakeApi, recordingLog, until } from './fake-api.js';

const T0 = Date.parse('2026-01-01T12:00:00.000Z');

test('process ids: `<replica>_<boot>`, split at the last `_`; a bare name or an older `<replica>/<boot>` is none', () => {
  const id = newIdentity('vm', (n) => Buffer.alloc(n, 0xab));
  assert.deepEqual(id, { replica: 'vm', boot: 'abababab' });
  assert.equal(processId(id), 'vm_abababab');
  assert.deepEqual(parseProcessId('my_host_1a2b3c4d'), { replica: 'my_host', boot: '1a2b3c4d' });
  assert.equal(parseProcessId('pod-a'), undefined);
  assert.equal(parseProcessId('pod-a/1a2b3c4d'), undefined);
  assert.equal(parseProcessId('_1a2b'), undefined);
  assert.equal(replicaOf('vm_abababab'), 'vm');
  assert.equal(replicaOf('pod-a'), 'pod-a');
  assert.notEqual(newIdentity('vm').boot, newIdentity('vm').boot);
});

test('a presence record: a Lease named after the process id, labelled for the deployment, the facts as annotations', () => {
  assert.match(presenceName('k8smgr', 'vm_1a2b3c4d'), /^k8smgr-replica-[0-9a-f]{10}$/);
  assert.notEqual(presenceName('k8smgr', 'vm_1a2b3c4d'), presenceName('k8smgr', 'vm_1a2b3c4e'));
  const lease = presenceRecord({ namespace: 'jhub', deploymentName: 'k8smgr', identity: { replica: 'vm', boot: '1a2b3c4d' }, durationSeconds: 15, now: T0, pid: 4242, started: '2026-01-01T11:59:59.000Z' });
  assert.deepEqual(lease, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: presenceName('k8smgr', 'vm_1a2b3c4d'),
      namespace: 'jhub',
      labels: { 'app.kubernetes.io/managed-by': 'k8smgr', 'app.kubernetes.io/component': 'replica', 'k8smgr.io/instance': 'k8smgr' },
      annotations: { 'k8smgr.io/replica': 'vm', 'k8smgr.io/process': '1a2b3c4d', 'k8smgr.io/pid': '4242', 'k8smgr.io/started': '2026-01-01T11:59:59.000Z' },
    },
    spec: { holderIdentity: 'vm_1a2b3c4d', leaseDurationSeconds: 15, acquireTime: '2026-01-01T12:00:00.000000Z', renewTime: '2026-01-01T12:00:00.000000Z' },
  });
});

test('sighting: live for its duration after this observer first saw it as it is, whatever its renewTime says', () => {
  const lease: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x' }, spec: { leaseDurationSeconds: 15, renewTime: '2020-01-01T00:00:00.000000Z' } };
  assert.equal(sightingState(undefined, T0, T0), 'absent');
  assert.equal(sightingState(lease, T0, T0 + 14_999), 'live');
  assert.equal(sightingState(lease, T0, T0 + 15_000), 'expired');
});

function processOf(api: FakeApi, clock: () => number, boot: string, extra: Partial<PresenceOptions> = {}) {
  const log = recordingLog();
  const presence = new ReplicaPresence({
    gateway: api, namespace: 'jhub', deploymentName: 'k8smgr', identity: { replica: 'vm', boot }, durationMs: 15_000,
    renewEveryMs: 60_000, now: clock, pid: 100, started: new Date(T0).toISOString(), log, ...extra,
  });
  return { presence, log };
}

test('two processes of one name see each other apart; one that stops renewing expires by the observer\'s clock; the leader removes it later', async () => {
  const api = new FakeApi();
  let now = T0;
  const clock = () => now;
  // a renews (and, as the leader, collects) often; b never renews during the test: a process that froze or died.
  const a = processOf(api, clock, 'aaaa0001', { renewEveryMs: 10, collect: () => true, collectAfterMs: 60_000 });
  const b = processOf(api, clock, 'bbbb0002');
  await a.presence.start();
  await b.presence.start();
  await a.presence.waitForSync();
  await until(() => a.presence.state('vm_bbbb0002') === 'live', 'a sees b');
  assert.equal(a.presence.state('vm_aaaa0001'), 'live', 'itself');
  assert.equal(a.presence.state('vm_cccc0003'), 'absent');
  assert.equal(a.presence.state('vm/cccc0003'), 'unknown', 'a creator written by an older version');
  assert.equal(a.presence.state('vm'), 'unknown');
  assert.equal(await a.presence.confirmAbsent('vm_cccc0003'), true);
  assert.equal(await a.presence.confirmAbsent('vm_bbbb0002'), false);
  const listed = a.presence.processes();
  assert.deepEqual(listed.map((p) => [p.replica, p.boot, p.self, p.live, p.pid]), [['vm', 'aaaa0001', true, true, 100], ['vm', 'bbbb0002', false, true, 100]]);

  // b's record does not change: 15 s after a first saw it, by a's clock, it is expired.
  now += 14_999;
  assert.equal(a.presence.state('vm_bbbb0002'), 'live');
  now += 1;
  assert.equal(a.presence.state('vm_bbbb0002'), 'expired');
  assert.equal(a.presence.processes().find((p) => p.boot === 'bbbb0002')?.live, false);
  // a renews all the while (its record changes with the clock): b sees a live for 15 s from each change.
  await until(() => b.presence.state('vm_aaaa0001') === 'live', 'b sees a renewed');

  // A minute after it expired, the leader (a) removes b's record.
  now += 60_000;
  await until(() => api.get(presenceName('k8smgr', 'vm_bbbb0002')) === undefined, 'b\'s record removed');
  await until(() => a.presence.state('vm_bbbb0002') === 'absent', 'a sees it gone');
  assert.ok(a.log.lines.some(([level, message]) => level === 'info' && /presence record of a gone process removed/.test(message)));
  await a.presence.stop();
  await b.presence.stop();
});

test('a graceful stop deletes the record: the others see the process absent at once, and a read confirms it', async () => {
  const api = new FakeApi();
  const clock = () => T0;
  const a = processOf(api, clock, 'aaaa0001');
  const b = processOf(api, clock, 'bbbb0002');
  await a.presence.start();
  await b.presence.start();
  await until(() => a.presence.state('vm_bbbb0002') === 'live', 'a sees b');
  await b.presence.stop();
  assert.equal(api.get(presenceName('k8smgr', 'vm_bbbb0002')), undefined);
  await until(() => a.presence.state('vm_bbbb0002') === 'absent', 'a sees b gone');
  assert.equal(await a.presence.confirmAbsent('vm_bbbb0002'), true);
  await a.presence.stop();
  assert.deepEqual(api.names(), []);
});

test('start waits until the record is written: an apiserver that refuses is tried again', async () => {
  const api = new FakeApi();
  api.failing = true;
  const a = processOf(api, () => T0, 'aaaa0001');
  let started = false;
  const starting = a.presence.start().then(() => (started = true));
  await until(() => a.log.lines.some(([level, message]) => level === 'warning' && /not written yet/.test(message)), 'the first failure said');
  assert.equal(started, false);
  api.failing = false;
  await starting;
  assert.ok(api.get(presenceName('k8smgr', 'vm_aaaa0001')));
  await a.presence.stop();
});
