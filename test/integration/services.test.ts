// The services API against the real control plane: start, poll, update, stop,
// rollback, safety, crash recovery, and that polls cost no API call.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { startManager, basic, type ManagerProcess } from '../helpers/manager.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { callApi, type ApiAnswer } from '../helpers/api.js';
import { anchorName } from '../../src/services/anchor.js';

const fixtures = path.resolve('test/fixtures/services');
const { kc, namespace } = await testNamespace();
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-services-'));
const configPath = path.join(tmp, 'config.json');
mkdirSync(path.join(tmp, 'skel', 'testhub'), { recursive: true });
writeFileSync(path.join(tmp, 'skel', 'testhub', 'hello.txt'), 'hi');
writeFileSync(configPath, JSON.stringify({
  services: { descriptions: path.join(fixtures, 'descriptions'), base: path.join(tmp, 'rendered'), max_body_bytes: 65536 },
  userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
  startup: { create_user: { testhub: ['access_to_webservice'], otherhub: ['access_to_webservice'] } },
}));
const passwords = { TESTHUB_USER_PASS: 'pw-testhub-1', OTHERHUB_USER_PASS: 'pw-otherhub-2' };
const auth = { testhub: basic('testhub', passwords.TESTHUB_USER_PASS), otherhub: basic('otherhub', passwords.OTHERHUB_USER_PASS) };

let proxy: CountingProxy;
let manager: ManagerProcess;
const proxyKubeconfig = path.join(tmp, 'kubeconfig-proxy');

async function launch(): Promise<ManagerProcess> {
  return startManager({ kubeconfigPath: proxyKubeconfig, namespace, configPath, env: passwords });
}

before(async () => {
  proxy = await startCountingProxy(kc);
  proxy.writeKubeconfig(proxyKubeconfig);
  manager = await launch();
});
after(async () => {
  await manager?.kill('SIGTERM');
  await proxy?.close();
});

function api(method: string, url: string, opts: { cred?: keyof typeof auth; body?: unknown; headers?: Record<string, string> } = {}) {
  return callApi(manager.url, method, url, { authorization: auth[opts.cred ?? 'testhub'], body: opts.body, headers: opts.headers });
}

function startBody(service: string, startId: string, extra: Record<string, unknown> = {}) {
  return {
    start_id: startId,
    user_options: { service },
    env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/progress', JUPYTERHUB_API_TOKEN: 'secret-api-token-xyz', JUPYTERHUB_USER_ID: 42 },
    ...extra,
  };
}
const start = (servername: string, service: string, startId: string, cred: keyof typeof auth = 'testhub') =>
  api('POST', '/api/services/', { cred, body: startBody(service, startId), headers: { uuidcode: servername } });

const KINDS: Array<[string, string]> = [
  ['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Pod'], ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet'],
];
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
/** Names of all objects of the manager in the namespace, optionally of one servername. */
async function managed(servername?: string): Promise<string[]> {
  const selector = `app.kubernetes.io/managed-by=k8smgr${servername ? `,k8smgr.io/servername=${servername}` : ''}`;
  const names: string[] = [];
  for (const [apiVersion, kind] of KINDS) {
    const list = await objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector);
    // A stop that finds nothing leaves a stop marker for a minute (docs/services.md): not a service object.
    for (const item of list.items) {
      if (!item.metadata?.deletionTimestamp && item.metadata?.labels?.['k8smgr.io/role'] !== 'stop-marker') names.push(`${kind}/${item.metadata?.name}`);
    }
  }
  return names.sort();
}
async function pollUntil(servername: string, check: (b: any) => boolean, what: string, timeoutMs = 60_000): Promise<any> {
  return waitFor(async () => {
    const r = await api('GET', `/api/services/${servername}/`);
    return r.status === 200 && check(r.body) ? r.body : false;
  }, { what, timeoutMs, intervalMs: 300 });
}

test('start, poll until running, list, update, then stop leaves nothing behind', async () => {
  const r = await start('lab-one', 'lab/ok', 'aaaa0001');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.servername, 'lab-one');
  assert.equal(r.body.start_id, 'aaaa0001');
  assert.equal(r.body.jhub_credential, 'testhub');
  assert.equal(r.body.jhub_user_id, 42);
  assert.equal(r.body.stop_pending, false);
  assert.deepEqual(r.body.user_options, { service: 'lab/ok' });

  const running = await pollUntil('lab-one', (b) => b.running === true && b.state === 'running', 'lab-one running');
  assert.deepEqual(running.details, { error: '', detailed_error: '' });

  const created = await managed('lab-one');
  assert.ok(created.includes('Deployment/depl-lab-one-aaaa0001'), created.join(','));
  assert.ok(created.includes('Service/lab-one-aaaa0001'));
  assert.ok(created.some((n) => n.startsWith('Secret/secret-lab-one-aaaa0001')));
  assert.ok(created.some((n) => n.startsWith('Pod/depl-lab-one-aaaa0001-')));
  // The env Secret holds the body's env plus SERVERNAME and DRF_ID.
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const secretName = created.find((n) => n.startsWith('Secret/'))!.slice('Secret/'.length);
  const secret = await core.readNamespacedSecret({ name: secretName, namespace });
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  assert.equal(data.JUPYTERHUB_API_TOKEN, 'secret-api-token-xyz');
  assert.equal(data.SERVERNAME, 'lab-one');
  assert.equal(data.DRF_ID, 'lab-one-aaaa0001');
  // Userhome from the skeleton, rendered copy under services.base.
  assert.ok(existsSync(path.join(tmp, 'homes', 'testhub', '42', 'hello.txt')));
  assert.ok(existsSync(path.join(tmp, 'rendered', 'lab-one-aaaa0001', 'service.yaml')));

  const list = await api('GET', '/api/services/');
  assert.deepEqual(list.body.map((s: { servername: string }) => s.servername), ['lab-one']);
  assert.deepEqual((await api('GET', '/api/services/', { cred: 'otherhub' })).body, []);

  const upd = await api('PATCH', '/api/services/lab-one/', { body: {} });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  assert.ok((await managed('lab-one')).includes('ConfigMap/upd-lab-one-aaaa0001'));

  const del = await api('DELETE', '/api/services/lab-one/');
  assert.equal(del.status, 204);
  await waitFor(async () => (await managed('lab-one')).length === 0, { what: 'no object of lab-one left', timeoutMs: 60_000 });
  assert.equal((await api('GET', '/api/services/lab-one/')).status, 404);
  // One grep for the servername tells its story: start, polls, update, stop, with credential and duration.
  const story = manager.output().split('\n').filter((l) => l.includes('uuidcode=lab-one'));
  for (const action of ['start', 'poll', 'update', 'stop']) {
    assert.ok(story.some((l) => l.includes(`action=${action}`) && l.includes('credential=testhub') && /duration_ms=\d/.test(l)), `${action} in:\n${story.join('\n')}`);
  }
  // The secret value never reached the manager's log.
  assert.ok(!manager.output().includes('secret-api-token-xyz'));
  assert.ok(!manager.output().includes(passwords.TESTHUB_USER_PASS));
});

test('a failing main container: running false with the events the user sees', async () => {
  assert.equal((await start('lab-fail', 'lab/fail', 'bbbb0001')).status, 201);
  const failed = await pollUntil('lab-fail', (b) => b.running === false, 'lab-fail reported as failed');
  assert.match(failed.details.error, /Service status is in state terminated|Service cannot start|Service status is Failed/);
  assert.match(failed.details.detailed_error, /Events:/);
  assert.equal(failed.state, 'failed');
  assert.equal((await api('DELETE', '/api/services/lab-fail/')).status, 204);
  await waitFor(async () => (await managed('lab-fail')).length === 0, { what: 'no object of lab-fail left', timeoutMs: 60_000 });
});

test('a retried start neither duplicates nor fails; a new start_id replaces the old start', async () => {
  const first = await start('lab-retry', 'lab/ok', 'cccc0001');
  const again = await start('lab-retry', 'lab/ok', 'cccc0001');
  assert.equal(first.status, 201);
  assert.equal(again.status, 201);
  assert.equal(again.body.start_date, first.body.start_date);
  const names = await managed('lab-retry');
  assert.equal(names.filter((n) => n.startsWith('Deployment/')).length, 1);

  const replaced = await start('lab-retry', 'lab/ok', 'cccc0002');
  assert.equal(replaced.status, 201);
  await waitFor(async () => {
    const now = await managed('lab-retry');
    return now.every((n) => !n.includes('cccc0001')) && now.includes('Deployment/depl-lab-retry-cccc0002');
  }, { what: 'only the objects of the second start', timeoutMs: 60_000 });
  await pollUntil('lab-retry', (b) => b.running === true, 'lab-retry running');
  assert.equal((await api('DELETE', '/api/services/lab-retry/')).status, 204);
  await waitFor(async () => (await managed('lab-retry')).length === 0, { what: 'lab-retry gone', timeoutMs: 60_000 });
});

test('safety: bad input answers 4xx (or a rolled-back 5xx) and leaves the namespace unchanged', async () => {
  const before = await managed();
  const cases: Array<[string, () => Promise<ApiAnswer>, number, RegExp]> = [
    ['missing key', () => api('POST', '/api/services/', { body: { start_id: 'x' }, headers: { uuidcode: 'safe-1' } }), 400, /Missing key in input data: env/],
    ['dot-dot service', () => start('safe-2', '../testhub/lab', 'dddd0001'), 400, /service/i],
    ['absolute service', () => start('safe-3', '/etc/passwd', 'dddd0001'), 400, /service/i],
    ['three segments', () => start('safe-4', 'lab/ok/x', 'dddd0001'), 400, /service/i],
    ['unknown service', () => start('safe-5', 'lab/nope', 'dddd0001'), 404, /Unknown service/],
    ['broken template', () => start('safe-6', 'lab/broken', 'dddd0001'), 422, /line|YAML|flow/i],
    ['invalid servername', () => start('Bad_Name', 'lab/ok', 'dddd0001'), 400, /Invalid uuidcode/],
    ['invalid start_id', () => start('safe-7', 'lab/ok', 'DD/01'), 400, /Invalid start_id/],
    ['too large body', () => api('POST', '/api/services/', { body: startBody('lab/ok', 'dddd0001', { pad: 'x'.repeat(70_000) }), headers: { uuidcode: 'safe-8' } }), 413, /larger/],
    ['refused object rolls back', () => start('safe-9', 'lab/invalid', 'dddd0001'), 500, /Deployment/],
  ];
  for (const [name, call, status, message] of cases) {
    const r = await call();
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
    assert.match(JSON.stringify(r.body), message, name);
  }
  // The userjobs API is served by `k8smgr serve` too (no SSH systems configured here).
  const userjob = await api('POST', '/api/userjobs/', { body: {} });
  assert.equal(userjob.status, 400);
  assert.match(JSON.stringify(userjob.body), /Missing key: service/);
  assert.deepEqual((await api('GET', '/api/userjobs/')).body, []);
  // Another credential's service is a 404 for you, on every verb.
  assert.equal((await start('mine', 'lab/ok', 'eeee0001')).status, 201);
  for (const method of ['GET', 'DELETE', 'PATCH']) {
    const r = await api(method, '/api/services/mine/', { cred: 'otherhub', ...(method === 'PATCH' ? { body: {} } : {}) });
    assert.equal(r.status, 404, method);
    assert.deepEqual(r.body, { detail: 'Not found.' });
  }
  assert.equal((await api('DELETE', '/api/services/mine/')).status, 204);
  await waitFor(async () => JSON.stringify(await managed()) === JSON.stringify(before), { what: 'namespace back to its state before', timeoutMs: 60_000 });
});

test('100 polls cause 0 requests to the apiserver', async () => {
  assert.equal((await start('lab-poll', 'lab/ok', 'ffff0001')).status, 201);
  await pollUntil('lab-poll', (b) => b.running === true && b.state === 'running', 'lab-poll running');
  // The start's own background writes end with the last progress step claimed on the anchor; polls add none.
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await waitFor(async () => (await core.readNamespacedConfigMap({ name: anchorName('testhub', 'lab-poll'), namespace })).metadata?.annotations?.['k8smgr.io/progress'] === 'ready',
    { what: 'the last progress step of lab-poll claimed', timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 500));
  const before = proxy.requests.length;
  for (let i = 0; i < 100; i++) assert.equal((await api('GET', '/api/services/lab-poll/')).status, 200);
  // The leader renews its Lease every 2 s, every process its presence record (a Lease too) every
  // 5 s, and a watch that ends on its timeout resumes, whatever the polls do: none is a poll's cost.
  const during = proxy.requests.slice(before).filter((r) => !r.includes('/leases/') && !r.endsWith(' (watch)'));
  assert.deepEqual(during, [], `API requests during 100 polls: ${during.join(', ')}`);
  assert.equal((await api('DELETE', '/api/services/lab-poll/')).status, 204);
});

test('killed with SIGKILL between start and stop: the restarted manager answers and stops cleanly', async () => {
  assert.equal((await start('lab-crash', 'lab/ok', 'abab0001')).status, 201);
  await pollUntil('lab-crash', (b) => b.running === true, 'lab-crash running');
  await manager.kill('SIGKILL');
  manager = await launch();
  const answer = await api('GET', '/api/services/lab-crash/');
  assert.equal(answer.status, 200);
  assert.equal(answer.body.running, true);
  assert.equal((await api('DELETE', '/api/services/lab-crash/')).status, 204);
  await waitFor(async () => (await managed('lab-crash')).length === 0, { what: 'lab-crash gone', timeoutMs: 60_000 });
});
