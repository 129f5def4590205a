// The deployment manifests: the apiserver accepts them (server-side dry run),
// and the manager does its whole job with nothing but the Role they grant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { startManager, basic } from '../helpers/manager.js';
import { KubeGateway, type KubeObject } from '../../src/kube/gateway.js';

const { kc, namespace } = await testNamespace();
const manifests = parseAllDocuments(readFileSync('deploy/k8smgr.yaml', 'utf8'))
  .map((d) => d.toJS() as KubeObject)
  .map((obj) => {
    // Into the test namespace: the manifests name "k8smgr".
    const text = JSON.stringify(obj).replaceAll('"namespace":"k8smgr"', `"namespace":"${namespace}"`);
    return JSON.parse(text) as KubeObject;
  });
const gateway = new KubeGateway(kc, { fieldManager: 'k8smgr-deploy-test' });

test('every manifest passes the apiserver’s server-side dry run', async () => {
  assert.deepEqual(manifests.map((m) => m.kind).sort(), ['ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount']);
  for (const obj of manifests) await gateway.apply(obj, { dryRun: true });
  // A dry run created nothing.
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const configMaps = await core.listNamespacedConfigMap({ namespace });
  assert.ok(!configMaps.items.some((c) => c.metadata?.name === 'k8smgr-config'));
});

test('the manager starts, polls, updates and stops a service with only the Role of the manifests', async () => {
  for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) await gateway.apply(manifests.find((m) => m.kind === kind)!);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name: 'k8smgr', namespace, body: { spec: { expirationSeconds: 3600, audiences: [] } },
  });
  const token = tokenRequest.status?.token;
  assert.ok(token, 'a service account token');
  const cluster = kc.getCurrentCluster()!;
  const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-deploy-'));
  const kubeconfigPath = path.join(tmp, 'kubeconfig');
  const caData = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  writeFileSync(kubeconfigPath, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
    clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority-data': caData } }],
    users: [{ name: 'sa', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa', namespace } }],
  }));
  const configPath = path.join(tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions: path.resolve('test/fixtures/services/descriptions'), base: path.join(tmp, 'rendered') },
    userhomes: { enabled: false },
    startup: { create_user: { testhub: ['access_to_webservice', 'access_to_logging'] } },
  }));
  const manager = await startManager({ kubeconfigPath, namespace, configPath, env: { TESTHUB_USER_PASS: 'pw-deploy-1' } });
  try {
    const headers = { authorization: basic('testhub', 'pw-deploy-1'), 'content-type': 'application/json' };
    const call = async (method: string, url: string, body?: unknown, extra: Record<string, string> = {}) => {
      const res = await fetch(`${manager.url}${url}`, { method, headers: { ...headers, ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const startBody = (service: string, startId: string) => ({
      start_id: startId, user_options: { service },
      env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/x', JUPYTERHUB_API_TOKEN: 'tok-deploy', JUPYTERHUB_USER_ID: 5 },
    });
    assert.equal((await call('POST', '/api/services/', startBody('lab/ok', 'dep00001'), { uuidcode: 'rbac-ok' })).status, 201);
    await waitFor(async () => (await call('GET', '/api/services/rbac-ok/')).body?.state === 'running', { what: 'running under the Role', timeoutMs: 60_000 });
    assert.equal((await call('PATCH', '/api/services/rbac-ok/', {})).status, 200);
    // A failure reads events and the container log (pods/log) under the Role.
    assert.equal((await call('POST', '/api/services/', startBody('lab/fail', 'dep00002'), { uuidcode: 'rbac-fail' })).status, 201);
    const failed = await waitFor(async () => {
      const r = await call('GET', '/api/services/rbac-fail/');
      return r.body?.running === false ? r.body : false;
    }, { what: 'failure under the Role', timeoutMs: 60_000 });
    assert.match(failed.details.detailed_error, /Logs:/);
    assert.doesNotMatch(failed.details.detailed_error, /forbidden/i);
    // The logging ConfigMap is writable too.
    assert.equal((await call('PATCH', '/api/logs/handler/stream/', { level: 10 })).status, 200);
    for (const name of ['rbac-ok', 'rbac-fail']) assert.equal((await call('DELETE', `/api/services/${name}/`)).status, 204);
    assert.doesNotMatch(manager.output(), /forbidden/i);
  } finally {
    await manager.kill();
  }
});
