// The certs Secret (services.ssl.enabled), update without update.yaml, and
// `k8smgr render` with and without the apiserver's dry run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { startManager, basic, type ManagerProcess } from '../helpers/manager.js';

const run = promisify(execFile);
const { kc, namespace, kubeconfigPath } = await testNamespace();
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-tls-'));
const configPath = path.join(tmp, 'config.json');
writeFileSync(configPath, JSON.stringify({
  services: { descriptions: path.resolve('test/fixtures/services/descriptions'), base: path.join(tmp, 'rendered'), ssl: { enabled: true } },
  userhomes: { enabled: false },
  startup: { create_user: { testhub: ['access_to_webservice'] } },
}));
let manager: ManagerProcess;
before(async () => {
  manager = await startManager({ kubeconfigPath, namespace, configPath, env: { TESTHUB_USER_PASS: 'pw-tls-123' } });
});
after(async () => {
  await manager?.kill();
});
const headers = { authorization: basic('testhub', 'pw-tls-123'), 'content-type': 'application/json' };
const core = kc.makeApiClient(k8s.CoreV1Api);

test('with ssl.enabled the certs from the start body become the certs Secret, removed on stop', async () => {
  const certs = { keyfile: '-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n', certfile: '-----BEGIN CERTIFICATE-----\nc\n', cafile: '-----BEGIN CERTIFICATE-----\nca\n' };
  const res = await fetch(`${manager.url}/api/services/`, {
    method: 'POST', headers: { ...headers, uuidcode: 'tls-1' },
    body: JSON.stringify({ start_id: 'ssl00001', user_options: { service: 'lab/ok' }, certs, env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/x', JUPYTERHUB_API_TOKEN: 'tok-tls', JUPYTERHUB_USER_ID: 3 } }),
  });
  assert.equal(res.status, 201);
  const record = await res.json() as { objects: string[] };
  const certsName = record.objects.find((o) => o.startsWith('v1|Secret/secret-certs-'))?.split('/')[1];
  assert.ok(certsName, record.objects.join(', '));
  const secret = await core.readNamespacedSecret({ name: certsName, namespace });
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  assert.deepEqual(data, { JUPYTERHUB_SSL_KEYFILE_DATA: certs.keyfile, JUPYTERHUB_SSL_CERTFILE_DATA: certs.certfile, JUPYTERHUB_SSL_CLIENT_CA_DATA: certs.cafile });
  assert.ok(!manager.output().includes('BEGIN PRIVATE KEY'), 'certificate data is not logged');
  assert.equal((await fetch(`${manager.url}/api/services/tls-1/`, { method: 'DELETE', headers })).status, 204);
  await waitFor(async () => {
    try {
      await core.readNamespacedSecret({ name: certsName, namespace });
      return false;
    } catch {
      return true;
    }
  }, { what: 'the certs Secret to be gone', timeoutMs: 30_000 });
});

test('an update of a service whose template has no update.yaml is a clear 404', async () => {
  const start = await fetch(`${manager.url}/api/services/`, {
    method: 'POST', headers: { ...headers, uuidcode: 'noupd-1' },
    body: JSON.stringify({ start_id: 'upd00001', user_options: { service: 'lab/fail' }, env: { JUPYTERHUB_STATUS_URL: 'x', JUPYTERHUB_API_TOKEN: 'y', JUPYTERHUB_USER_ID: 3 } }),
  });
  assert.equal(start.status, 201);
  const update = await fetch(`${manager.url}/api/services/noupd-1/`, { method: 'PUT', headers, body: '{}' });
  assert.equal(update.status, 404);
  assert.match((await update.json() as { error: string }).error, /update yaml/);
  assert.equal((await fetch(`${manager.url}/api/services/noupd-1/`, { method: 'DELETE', headers })).status, 204);
});

test('k8smgr render prints the manifests and, with --server-dry-run, has the apiserver check them', async () => {
  const env = { ...process.env, CONFIG_PATH: configPath, KUBECONFIG: kubeconfigPath, DEPLOYMENT_NAMESPACE: namespace };
  const cli = ['bin/k8smgr.js', 'render', '--credential', 'testhub', '--user-id', '9'];
  const plain = await run(process.execPath, [...cli, '--service', 'lab/ok'], { env });
  assert.match(plain.stdout, /kind: Deployment/);
  assert.match(plain.stdout, /name: depl-render-preview-00000000/);
  assert.match(plain.stdout, new RegExp(`namespace: ${namespace}`));
  assert.match(plain.stdout, /UNIQUE\n\s+value: testhub_9|value: testhub_9/);

  const checked = await run(process.execPath, [...cli, '--service', 'lab/ok', '--server-dry-run'], { env });
  assert.match(checked.stderr, /ok\s+Deployment\/depl-render-preview-00000000/);
  // Nothing was created by the dry run.
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  assert.equal((await apps.listNamespacedDeployment({ namespace })).items.filter((d) => d.metadata?.name?.startsWith('depl-render')).length, 0);

  await assert.rejects(run(process.execPath, [...cli, '--service', 'lab/invalid', '--server-dry-run'], { env }), (err: { code?: number; stderr?: string }) => {
    assert.equal(err.code, 1);
    assert.match(err.stderr ?? '', /refused Deployment depl-render-preview-00000000/);
    return true;
  });
  await assert.rejects(run(process.execPath, [...cli, '--service', '../x'], { env }), /service/i);
});
