import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../../../src/errors.js';
import { anchorAnnotations, applyResources, bookName, buildBook, flavorKeywords } from '../../../src/flavors/objects.js';
import { patchResources } from '../../../src/flavors/admission.js';

function deployment(name: string, containers: Array<Record<string, unknown>>) {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { template: { spec: { containers } } } };
}

test('the book: a deterministic name per instance and credential, the manager\'s labels', () => {
  assert.equal(bookName('k8smgr', 'jupyterjsc'), 'k8smgr-flavors-jupyterjsc');
  assert.match(bookName('k8smgr', 'Hub_One'), /^k8smgr-flavors-hub-one-[0-9a-f]{10}$/);
  assert.deepEqual(buildBook('k8smgr', 'ns', 'Hub_One', { 'a.1': '{}' }), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: bookName('k8smgr', 'Hub_One'),
      namespace: 'ns',
      labels: { 'app.kubernetes.io/managed-by': 'k8smgr', 'k8smgr.io/instance': 'k8smgr', 'k8smgr.io/role': 'flavors', 'k8smgr.io/credential': 'Hub_One' },
      annotations: { 'k8smgr.io/credential': 'Hub_One' },
    },
    data: { 'a.1': '{}' },
  });
});

test('resources go on the main container of the main Deployment, flavor values winning per resource', () => {
  const objects: Array<Record<string, unknown>> = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } },
    deployment('depl-lab-1', [
      { name: 'sidecar', image: 's' },
      { name: 'main', image: 'm', resources: { requests: { cpu: '100m', 'ephemeral-storage': '1Gi' }, limits: { cpu: '4' } } },
    ]),
    deployment('other', [{ name: 'main', image: 'o' }]),
  ];
  const n = applyResources(objects, { deployment: 'depl-lab-1', container: 'main' }, { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 1, memory: '2Gi' } });
  assert.equal(n, 1);
  assert.deepEqual(objects[1], deployment('depl-lab-1', [
    { name: 'sidecar', image: 's' },
    { name: 'main', image: 'm', resources: { requests: { cpu: '500m', 'ephemeral-storage': '1Gi', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } } },
  ]));
  assert.deepEqual(objects[2], deployment('other', [{ name: 'main', image: 'o' }]));
  assert.equal(applyResources(objects, { deployment: 'depl-lab-1', container: 'main' }, undefined), 0);
});

test('a flavor with resources refuses a template without the main container; one without resources changes nothing', () => {
  const objects = [deployment('depl-x', [{ name: 'notebook' }])];
  assert.throws(
    () => patchResources(objects, { name: 'small', resources: { limits: { cpu: '1' } } }, 'depl-x', 'main'),
    (err: unknown) => isDomainError(err) && err.code === 'template_invalid' && /no container "main" in Deployment depl-x/.test(err.message),
  );
  patchResources(objects, { name: 'small', resources: undefined }, 'depl-x', 'main');
  assert.deepEqual(objects, [deployment('depl-x', [{ name: 'notebook' }])]);
});

test('keywords: the flavor, its cpu/memory requests and limits when set, the runtime', () => {
  assert.deepEqual(flavorKeywords({ name: 'small', resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 1, memory: '2Gi' } }, runtimeSeconds: 7200 }), {
    flavor: 'small', flavor_cpu_limit: '1', flavor_memory_limit: '2Gi', flavor_cpu_request: '500m', flavor_memory_request: '1Gi', flavor_runtime_seconds: '7200',
  });
  assert.deepEqual(flavorKeywords({ name: 'tiny', resources: undefined, runtimeSeconds: 0 }), { flavor: 'tiny', flavor_runtime_seconds: '0' });
});

test('anchor annotations: the flavor, and the deadline with its reason', () => {
  assert.deepEqual(anchorAnnotations({ name: 'small' }, { stopAt: '2030-01-01T12:00:00.000Z', reason: 'Runtime limit of 2 hours reached' }), {
    'k8smgr.io/flavor': 'small', 'k8smgr.io/stop-at': '2030-01-01T12:00:00.000Z', 'k8smgr.io/stop-reason': 'Runtime limit of 2 hours reached',
  });
  assert.deepEqual(anchorAnnotations({ name: 'small' }, undefined), { 'k8smgr.io/flavor': 'small' });
});
