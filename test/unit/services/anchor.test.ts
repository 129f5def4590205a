import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorName, buildAnchor, objectRef, objectRefs, ownerRefTo, readRecord, startLabels } from '../../../src/services/anchor.js';
import type { ServiceRecord } from '../../../src/services/types.js';
import { attachOwner, prepareStart } from '../../../src/templates/index.js';

const record: ServiceRecord = {
  servername: 'srv-1', start_id: 'abcd1234', user_options: { service: 'lab/ok' }, jhub_user_id: 7,
  jhub_credential: 'jupyterhub_jsc', start_date: '2026-01-01T00:00:00.000Z', stop_pending: false,
  objects: ['v1|Secret/secret-srv-1-abcd1234-k8smgr', 'apps/v1|Deployment/depl-srv-1-abcd1234'],
};

test('anchor names are deterministic per credential and servername, and valid names', () => {
  assert.equal(anchorName('hub', 'srv'), anchorName('hub', 'srv'));
  assert.notEqual(anchorName('hub-a', 'srv'), anchorName('hub-b', 'srv'));
  const long = anchorName('hub', 'x'.repeat(200));
  assert.ok(long.length <= 63);
  assert.match(long, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
});

test('the anchor is a labelled ConfigMap holding the record, and reads back', () => {
  const anchor = buildAnchor('k8smgr', 'ns', record);
  assert.deepEqual(anchor, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: anchorName('jupyterhub_jsc', 'srv-1'),
      namespace: 'ns',
      labels: {
        'app.kubernetes.io/managed-by': 'k8smgr',
        'k8smgr.io/instance': 'k8smgr',
        'k8smgr.io/anchor': anchorName('jupyterhub_jsc', 'srv-1'),
        'k8smgr.io/servername': 'srv-1',
        'k8smgr.io/start-id': 'abcd1234',
        'k8smgr.io/credential': 'jupyterhub_jsc',
        'k8smgr.io/user-id': '7',
        'k8smgr.io/role': 'anchor',
      },
    },
    data: { record: JSON.stringify(record) },
  });
  assert.deepEqual(readRecord(anchor), record);
  const deleting = { ...anchor, metadata: { ...anchor.metadata, deletionTimestamp: '2026-01-01T00:00:01Z' } };
  assert.equal(readRecord(deleting)?.stop_pending, true);
  assert.equal(readRecord({ ...anchor, data: { record: '{broken' } } as never), undefined);
  assert.deepEqual(startLabels('k8smgr', record), Object.fromEntries(Object.entries(anchor.metadata.labels!).filter(([k]) => k !== 'k8smgr.io/role')));
});

test('object references round-trip; owner references need the anchor uid', () => {
  assert.deepEqual(objectRefs(record, 'ns'), [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'secret-srv-1-abcd1234-k8smgr', namespace: 'ns' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'depl-srv-1-abcd1234', namespace: 'ns' } },
  ]);
  assert.equal(objectRef({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } }), 'v1|Service/x');
  const anchor = buildAnchor('k8smgr', 'ns', record);
  assert.throws(() => ownerRefTo(anchor), /no uid/);
  anchor.metadata.uid = 'u-1';
  assert.deepEqual(ownerRefTo(anchor), { apiVersion: 'v1', kind: 'ConfigMap', name: anchor.metadata.name, uid: 'u-1', blockOwnerDeletion: false });
});

test('the path a start takes: rendered with the start labels, then owned by the anchor, keeping the owners the template declared', () => {
  // As services/prepare.ts renders (labels, no owner yet) and manager.ts applies (attachOwner with ownerRefTo).
  const template = [
    'apiVersion: v1', 'kind: Service', 'metadata:', '  name: <id>',
    '  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: shared, uid: uid-shared}]',
    'spec: {ports: [{port: 80}]}', '',
  ].join('\n');
  const prepared = prepareStart({
    files: new Map([['service.yaml', Buffer.from(template)]]),
    credential: record.jhub_credential, servername: record.servername, startId: record.start_id, userId: record.jhub_user_id,
    namespace: 'ns', deploymentName: 'k8smgr', labels: startLabels('k8smgr', record),
  });
  const built = buildAnchor('k8smgr', 'ns', record);
  const anchor = { ...built, metadata: { ...built.metadata, uid: 'u-anchor' } };
  const [applied] = prepared.objects.map((obj) => attachOwner(obj, ownerRefTo(anchor)));
  assert.deepEqual(applied?.metadata.ownerReferences, [
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'shared', uid: 'uid-shared' },
    { apiVersion: 'v1', kind: 'ConfigMap', name: anchorName('jupyterhub_jsc', 'srv-1'), uid: 'u-anchor', blockOwnerDeletion: false },
  ]);
  assert.equal(applied?.metadata.labels?.['k8smgr.io/anchor'], anchorName('jupyterhub_jsc', 'srv-1'));
});
