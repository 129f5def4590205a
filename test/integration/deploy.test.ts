// The Helm chart as deployed: the apiserver accepts what it renders (server-side dry
// run), and a manager configured from nothing but what the chart renders (its config
// ConfigMap, its templates ConfigMap mounted by the Deployment's items, the container's
// environment with the password from the Secret it names) does its whole job with the
// token of the chart's ServiceAccount, i.e. with only the chart's Role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { startManager, basic } from '../helpers/manager.js';
import { runOk, tools } from '../../testenv/tools.js';

tools(); // builds helm and kubectl if needed
const { kc, namespace, kubeconfigPath: adminKubeconfig } = await testNamespace();
const kubectl = (args: string[], input?: string) => runOk('kubectl', ['--kubeconfig', adminKubeconfig, '-n', namespace, ...args], { input });

type Obj = Record<string, any>;
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-deploy-'));
const fixtures = 'test/fixtures/services/descriptions/testhub/lab';
const descriptionsDir = path.join(tmp, 'descriptions');
const files: Record<string, string> = {};
for (const rel of ['ok/service.yaml', 'ok/update.yaml', 'fail/service.yaml']) files[`testhub/lab/${rel}`] = readFileSync(path.join(fixtures, rel), 'utf8');
const valuesPath = path.join(tmp, 'values.yaml');
writeFileSync(valuesPath, stringify({
  credentials: { testhub: { groups: ['access_to_webservice', 'access_to_logging'], secret: { name: 'hub-passwords', key: 'testhub' } } },
  descriptions: { mountPath: descriptionsDir, files },
  config: { services: { base: path.join(tmp, 'rendered') }, userhomes: { enabled: false } },
}));
const rendered = runOk('helm', ['template', 'k8smgr', 'deploy/chart/k8smgr', '--namespace', namespace, '-f', valuesPath]);
const objects = parseAllDocuments(rendered).map((d) => d.toJS() as Obj).filter((o) => o !== null);
const find = (kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind} ${name} in the chart's output`);
  return found;
};

test('everything the chart renders passes the apiserver’s server-side dry run', async () => {
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
  const out = kubectl(['apply', '--dry-run=server', '-f', '-'], rendered);
  assert.equal(out.trim().split('\n').length, objects.length, out);
  // A dry run created nothing.
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const configMaps = await core.listNamespacedConfigMap({ namespace });
  assert.ok(!configMaps.items.some((c) => c.metadata?.name === 'k8smgr-config'));
});

test('the manager starts, polls, updates and stops a service with only the chart’s Role, configured as the chart says', async () => {
  // The ServiceAccount, Role and RoleBinding for real, and the Secret the values name.
  kubectl(['apply', '-f', '-'], objects.filter((o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind)).map((o) => `---\n${stringify(o)}`).join(''));
  kubectl(['create', 'secret', 'generic', 'hub-passwords', '--from-literal=testhub=pw-deploy-1']);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name: 'k8smgr', namespace, body: { spec: { expirationSeconds: 3600, audiences: [] } },
  });
  const token = tokenRequest.status?.token;
  assert.ok(token, 'a service account token');
  const cluster = kc.getCurrentCluster()!;
  const kubeconfigPath = path.join(tmp, 'kubeconfig');
  const caData = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  writeFileSync(kubeconfigPath, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
    clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority-data': caData } }],
    users: [{ name: 'sa', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa', namespace } }],
  }));

  // What the kubelet would do: the config ConfigMap as a file, the templates ConfigMap by the
  // Deployment's items, the container's environment (fieldRefs and secretKeyRefs resolved).
  const configPath = path.join(tmp, 'config', 'config.json');
  mkdirSync(path.dirname(configPath), { recursive: true });
  writeFileSync(configPath, find('ConfigMap', 'k8smgr-config').data['config.json']);
  const descriptions = find('ConfigMap', 'k8smgr-descriptions').data as Record<string, string>;
  const podSpec = find('Deployment', 'k8smgr').spec.template.spec;
  const volume = (podSpec.volumes as Obj[]).find((v) => v.name === 'descriptions')!;
  for (const item of volume.configMap.items as Array<{ key: string; path: string }>) {
    mkdirSync(path.dirname(path.join(descriptionsDir, item.path)), { recursive: true });
    writeFileSync(path.join(descriptionsDir, item.path), descriptions[item.key]!);
  }
  const env: Record<string, string> = {};
  for (const e of podSpec.containers[0].env as Obj[]) {
    if (['CONFIG_PATH', 'PORT'].includes(e.name)) continue; // the test's file and a free port
    if (typeof e.value === 'string') env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const secret = await core.readNamespacedSecret({ name, namespace });
      env[e.name] = Buffer.from(secret.data![key]!, 'base64').toString();
    }
  }
  assert.equal(env.TESTHUB_USER_PASS, 'pw-deploy-1', 'the credential’s password from the Secret the chart names');
  assert.equal(env.DEPLOYMENT_NAMESPACE, namespace);

  const manager = await startManager({ kubeconfigPath, namespace, configPath, env });
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
    // A failed wait shows what the manager said (a run on a loaded machine once saw only "fetch failed").
    const withOutput = (err: Error): never => assert.fail(`${err.message}\n--- manager\n${manager.output().split('\n').slice(-40).join('\n')}`);
    await waitFor(async () => (await call('GET', '/api/services/rbac-ok/')).body?.state === 'running', { what: 'running under the Role', timeoutMs: 60_000 }).catch(withOutput);
    assert.equal((await call('PATCH', '/api/services/rbac-ok/', {})).status, 200);
    // A failure reads events and the container log (pods/log) under the Role.
    assert.equal((await call('POST', '/api/services/', startBody('lab/fail', 'dep00002'), { uuidcode: 'rbac-fail' })).status, 201);
    const failed = await waitFor(async () => {
      const r = await call('GET', '/api/services/rbac-fail/');
      return r.body?.running === false ? r.body : false;
    }, { what: 'failure under the Role', timeoutMs: 60_000 }).catch(withOutput);
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
