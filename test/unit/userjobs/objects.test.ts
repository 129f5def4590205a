import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUserjobService, readUserjob, userjobServiceName, viewOf, type UserjobRecord } from '../../../src/userjobs/objects.js';
import { anchorName } from '../../../src/services/anchor.js';
import type { ServiceRecord } from '../../../src/services/types.js';

const record: UserjobRecord = {
  service: 'lab-1', hostname: 'hpc1', target_node: 'n01', jobid: '12', jhub_credential: 'hub',
  forwards: [{ servicePort: 8080, nodePort: 43000, localPort: 40001 }], created: '2026-01-01T00:00:00.000Z',
};
const owner = {
  record: { servername: 'lab-1', start_id: 'abcd1234', jhub_credential: 'hub', jhub_user_id: 3 } as ServiceRecord,
  anchor: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: anchorName('hub', 'lab-1'), uid: 'uid-1' } },
};

test('the Service is named after the service when that is a valid Service name', () => {
  assert.equal(userjobServiceName('lab-1'), 'lab-1');
  const digit = userjobServiceName('1abc');
  assert.match(digit, /^userjob-1abc/);
  const long = userjobServiceName('a'.repeat(100));
  assert.ok(long.length <= 63 && /^[a-z]/.test(long));
  assert.notEqual(userjobServiceName('a'.repeat(100)), userjobServiceName(`${'a'.repeat(99)}b`));
});

test('the Service routes each port to its local forward on the manager pod, owned by the anchor, and holds the record', () => {
  const svc = buildUserjobService({ instance: 'k8smgr', namespace: 'ns', deploymentName: 'k8smgr', owner, userjob: record });
  assert.deepEqual(svc.spec, {
    type: 'ClusterIP', selector: { name: 'k8smgr' },
    ports: [{ name: 'port-8080', protocol: 'TCP', port: 8080, targetPort: 40001 }],
  });
  assert.equal(svc.metadata.labels?.['app.kubernetes.io/managed-by'], 'k8smgr');
  assert.equal(svc.metadata.labels?.['k8smgr.io/role'], 'userjob');
  assert.equal(svc.metadata.labels?.['k8smgr.io/anchor'], svc.metadata.ownerReferences?.[0]?.name);
  assert.deepEqual(svc.metadata.ownerReferences?.map((o) => [o.kind, o.uid]), [['ConfigMap', 'uid-1']]);
  assert.deepEqual(readUserjob(svc), record);
});

test('damaged records are not read', () => {
  const svc = buildUserjobService({ instance: 'k8smgr', namespace: 'ns', deploymentName: 'k8smgr', owner, userjob: record });
  svc.metadata.annotations = { 'k8smgr.io/userjob': '{"service": 1' };
  assert.equal(readUserjob(svc), undefined);
  svc.metadata.annotations = { 'k8smgr.io/userjob': JSON.stringify({ ...record, forwards: [{ servicePort: 1, nodePort: 2, localPort: 0 }] }) };
  assert.equal(readUserjob(svc), undefined);
});

test('the view: ports as given, the local ports, and the tunnel error when there is one', () => {
  const ok = viewOf(record, 'ns', 'running');
  assert.deepEqual([ok.ports, ok.local_ports, ok.running, ok.kubernetes_service], [{ '8080': '43000' }, { '8080': 40001 }, true, 'lab-1']);
  const bad = viewOf(record, 'ns', 'error', 'Connection refused');
  assert.deepEqual(bad.details, { error: 'Could not create connection to tunnel_hpc1', detailed_error: 'Connection refused' });
});
