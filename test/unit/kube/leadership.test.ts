// Leadership over an in-memory apiserver: the Lease's holder is the process id
// (name and process apart in the health details and the replica list), and a
// missing pod of the replica's name is a warning only when userjobs are in use
// (their Services select the leader's pod); a first demo run stays quiet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Leadership } from '../../../src/kube/leadership.js';
import type { Lease } from '../../../src/kube/lease.js';
import { FakeApi, recordingLog, until } from './fake-api.js';

const fast = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 20 };

async function leadOnce(userjobsConfigured: boolean) {
  const api = new FakeApi();
  const log = recordingLog();
  const leadership = new Leadership({
    gateway: api, namespace: 'jhub', deploymentName: 'k8smgr', identity: { replica: 'vm', boot: '1a2b3c4d' }, timings: fast, log,
    userjobsConfigured: () => userjobsConfigured,
  });
  leadership.start();
  await until(() => leadership.isLeader(), 'leading');
  // The label goes on after the leading line: wait for the word on the pod.
  await until(() => log.lines.some(([, message]) => /no pod of this replica's name/.test(message)), 'the missing pod said');
  const lease = api.get('k8smgr-leader') as Lease | undefined;
  const details = leadership.details();
  const replicas = leadership.replicas();
  await leadership.stop();
  return { log, lease, details, replicas };
}

test('the Lease is held by the process id; health and the replica list show name and process apart', async () => {
  const { lease, details, replicas, log } = await leadOnce(false);
  assert.equal(lease?.spec?.holderIdentity, 'vm_1a2b3c4d');
  assert.deepEqual({ ...details, since: undefined }, { replica: 'vm', process: '1a2b3c4d', leading: true, holder: 'vm_1a2b3c4d', since: undefined });
  assert.deepEqual(replicas.map((r) => [r.name, r.process, r.self, r.holdsLease]), [['vm', '1a2b3c4d', true, true]]);
  assert.deepEqual(log.lines.find(([, message]) => /^leading/.test(message))?.[2], { replica: 'vm', process: '1a2b3c4d' });
});

test('no pod of this name and no userjobs: said at debug level only (a first demo run is quiet)', async () => {
  const { log } = await leadOnce(false);
  assert.deepEqual(log.lines.filter(([level]) => level === 'warning'), []);
  assert.equal(log.lines.filter(([level, message]) => level === 'debug' && /no pod of this replica's name/.test(message)).length, 1);
});

test('no pod of this name with userjobs configured: a warning (their Services cannot reach this process)', async () => {
  const { log } = await leadOnce(true);
  const warnings = log.lines.filter(([level]) => level === 'warning');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]?.[1] ?? '', /userjob Services cannot reach this replica/);
});
