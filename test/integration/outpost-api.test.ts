// Contract tests of the Outpost API against a manager on the real control
// plane: every endpoint's status codes and bodies as OutpostSpawner sends and
// reads them (../shared/outpost-contract.md), identity by (credential, name,
// start_id), the hub callbacks (progress events, SetupTunnel), clean-up of
// failed starts, and that a poll costs no Kubernetes API call.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic, startManager, type ManagerProcess } from '../helpers/manager.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { callApi } from '../helpers/api.js';

const { kc, namespace } = await testNamespace();
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-outpost-api-'));
const configPath = path.join(tmp, 'config.json');
mkdirSync(path.join(tmp, 'skel'), { recursive: true });
writeFileSync(configPath, JSON.stringify({
  services: { descriptions: path.resolve('test/fixtures/outpost/descriptions'), base: path.join(tmp, 'rendered') },
  userhomes: { enabled: false },
  startup: { create_user: { outposthub: ['access_to_webservice'], otherhub: ['access_to_webservice'], logonly: ['access_to_logging'] } },
  outpost: {
    ready_timeout_seconds: 8,
    log_lines: 1,
    credentials: { outposthub: { options: { ok: 'lab/ok', fail: 'lab/fail', slow: 'lab/slow', noservice: 'lab/noservice' }, default_service: 'lab/ok', misc_keywords: { image: 'jupyter/base-notebook:latest' } } },
  },
}));
const passwords = { OUTPOSTHUB_USER_PASS: 'pw-outpost-1', OTHERHUB_USER_PASS: 'pw-other-2', LOGONLY_USER_PASS: 'pw-log-3' };
const auth = { outposthub: basic('outposthub', passwords.OUTPOSTHUB_USER_PASS), otherhub: basic('otherhub', passwords.OTHERHUB_USER_PASS), logonly: basic('logonly', passwords.LOGONLY_USER_PASS) };

/** The hub's side: records what the manager POSTs to the events and SetupTunnel URLs. */
interface HubCall { path: string; authorization: string; body: any }
const calls: HubCall[] = [];
const hubServer = http.createServer((req, res) => {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('end', () => {
    calls.push({ path: req.url ?? '', authorization: req.headers.authorization ?? '', body: text ? JSON.parse(text) : undefined });
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => hubServer.listen(0, '127.0.0.1', r));
const hubUrl = `http://127.0.0.1:${(hubServer.address() as AddressInfo).port}`;

let proxy: CountingProxy;
let manager: ManagerProcess;
before(async () => {
  proxy = await startCountingProxy(kc);
  proxy.writeKubeconfig(path.join(tmp, 'kubeconfig'));
  manager = await startManager({ kubeconfigPath: path.join(tmp, 'kubeconfig'), namespace, configPath, env: passwords });
});
after(async () => {
  await manager?.kill('SIGTERM');
  await proxy?.close();
  hubServer.close();
});

const api = (method: string, url: string, opts: { cred?: keyof typeof auth | null; body?: unknown; headers?: Record<string, string> } = {}) =>
  callApi(manager.url, method, `/outpost${url}`, { ...(opts.cred === null ? {} : { authorization: auth[opts.cred ?? 'outposthub'] }), body: opts.body, headers: opts.headers });
/** Without following redirects (fetch would). */
const raw = (method: string, url: string, cred: keyof typeof auth | null = 'outposthub') =>
  fetch(`${manager.url}/outpost${url}`, { method, redirect: 'manual', headers: cred ? { authorization: auth[cred] } : {} });

const newStartId = () => randomBytes(16).toString('hex');
/** A start body as OutpostSpawner 2.2.13 sends it. */
function startBody(name: string, startId: string, opts: { user?: string; userId?: number; profile?: string; misc?: Record<string, unknown>; certs?: Record<string, string> } = {}) {
  const user = opts.user ?? 'alice';
  return {
    name,
    env: {
      JUPYTERHUB_API_TOKEN: `tok-${user}-${name}`,
      JUPYTERHUB_USER: user,
      JUPYTERHUB_SERVER_NAME: name,
      JUPYTERHUB_API_URL: `${hubUrl}/hub/api`,
      JUPYTERHUB_SERVICE_URL: `http://0.0.0.0:47020/user/${user}/${name}/`,
      JUPYTERHUB_EVENTS_URL: `${hubUrl}/hub/api/users/progress/events/${user}/${name}`,
      JUPYTERHUB_SETUPTUNNEL_URL: `${hubUrl}/hub/api/users/setuptunnel/${user}/${name}`,
      JUPYTERHUB_USER_ID: String(opts.userId ?? 7),
    },
    user_options: { profile: opts.profile ?? 'ok', start_id: startId },
    misc: { dns_name_template: '{name}.{namespace}.svc.cluster.local', pod_name_template: 'jupyter-{username}--{servername}', internal_ssl: false, port: 47020, ip: '0.0.0.0', services_enabled: true, extra_labels: {}, ...opts.misc },
    certs: opts.certs ?? {},
    internal_trust_bundles: opts.certs ? { 'hub-ca': 'HUB-CA-PEM' } : {},
  };
}

const KINDS: Array<[string, string]> = [['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Pod'], ['apps/v1', 'Deployment']];
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
const core = kc.makeApiClient(k8s.CoreV1Api);
/** Objects of the users' services in the namespace (of one servername prefix), stop markers aside. */
async function managed(prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for (const [apiVersion, kind] of KINDS) {
    const list = await objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, 'app.kubernetes.io/managed-by=k8smgr,k8smgr.io/servername');
    for (const item of list.items) {
      const server = item.metadata?.labels?.['k8smgr.io/servername'] ?? '';
      if (!item.metadata?.deletionTimestamp && server.startsWith(prefix) && item.metadata?.labels?.['k8smgr.io/role'] !== 'stop-marker') names.push(`${kind}/${item.metadata?.name}`);
    }
  }
  return names.sort();
}
const nothingLeft = (prefix: string) => waitFor(async () => (await managed(prefix)).length === 0, { what: `nothing of ${prefix} left`, timeoutMs: 30_000 });

test('ping, authentication, and the paths as FastAPI answers them', async () => {
  assert.deepEqual((await api('GET', '/ping', { cred: null })).body, { ping: 'pong!' });
  const ping = await raw('GET', '/ping/', null);
  assert.equal(ping.status, 307);
  assert.match(ping.headers.get('location') ?? '', /\/outpost\/ping$/);

  const none = await api('GET', '/services/', { cred: null });
  assert.equal(none.status, 401);
  assert.deepEqual(none.body, { detail: 'Not authenticated' });
  assert.equal(none.headers.get('www-authenticate'), 'Basic');
  const wrong = await callApi(manager.url, 'GET', '/outpost/services/', { authorization: basic('outposthub', 'nope') });
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.body, { detail: 'Incorrect username or password' });
  // A credential without access_to_webservice is not a hub.
  assert.equal((await api('GET', '/services/', { cred: 'logonly' })).status, 403);

  assert.deepEqual((await api('GET', '/services/')).body, []);
  // The start is POST /services exactly; POST /services/ meets GET /services/ (405), and the other way round.
  const postSlash = await api('POST', '/services/', { body: startBody('lab', newStartId()) });
  assert.equal(postSlash.status, 405);
  assert.deepEqual(postSlash.body, { detail: 'Method Not Allowed' });
  assert.equal((await api('GET', '/services')).status, 405);
  assert.equal((await api('PUT', '/services/lab/abc')).status, 405);
  // A poll with a final slash is redirected to the exact path.
  const slashed = await raw('GET', '/services/lab/0123?collect_logs=true'.replace('0123', '0123/'));
  assert.equal(slashed.status, 307);
  assert.match(slashed.headers.get('location') ?? '', /\/outpost\/services\/lab\/0123\?collect_logs=true$/);
  // Unknown paths, and the empty name of a default server's URL.
  assert.deepEqual((await api('GET', '/nope')).body, { detail: 'Not Found' });
  const empty = await api('GET', '/services//abc');
  assert.equal(empty.status, 404);
  assert.deepEqual(empty.body, { detail: 'Not Found' });
  assert.deepEqual((await api('GET', '/services/lab/unknown')).body, { detail: 'Item not found' });
  assert.deepEqual((await api('GET', '/services/lab')).body, { detail: 'Item not found' });
  // The OpenAPI document lists the Outpost paths.
  const doc = await callApi(manager.url, 'GET', '/api/openapi.json');
  assert.ok(doc.body.paths['/outpost/services'] && doc.body.paths['/outpost/services/{name}/{start_id}'], Object.keys(doc.body.paths).join(', '));
});

test('a start: 200 with host:port of the template\'s Service when ready; poll, logs, list; stop leaves nothing', async () => {
  const startId = newStartId();
  calls.length = 0;
  const started = await api('POST', '/services', { body: startBody('lab', startId, { certs: { keyfile: 'KEY-PEM', certfile: 'CERT-PEM', cafile: 'CA-PEM' } }) });
  assert.equal(started.status, 200, started.text);
  const [head, tail] = [startId.slice(0, 8), startId.slice(8, 16)];
  assert.deepEqual(started.body, { service: `svc-lab-${head}-${tail}.${namespace}.svc.cluster.local:47020` });
  // What was made: the misc port and keyword in the template, the env and the certs with the trust bundles.
  const deployment = await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: `depl-lab-${head}-${tail}`, namespace });
  const main = deployment.spec?.template.spec?.containers[0];
  assert.deepEqual([main?.image, main?.args], ['jupyter/base-notebook:latest', ['--port=47020']]);
  const secrets = (await core.listNamespacedSecret({ namespace, labelSelector: `k8smgr.io/servername=lab-${head}` })).items;
  const env = secrets.find((s) => s.metadata?.name?.startsWith('secret-lab'))?.data ?? {};
  assert.equal(Buffer.from(env.JUPYTERHUB_USER ?? '', 'base64').toString(), 'alice');
  const certs = secrets.find((s) => s.metadata?.name?.startsWith('secret-certs-lab'))?.data ?? {};
  assert.deepEqual(Object.keys(certs).sort(), ['JUPYTERHUB_SSL_CERTFILE_DATA', 'JUPYTERHUB_SSL_CLIENT_CA_DATA', 'JUPYTERHUB_SSL_KEYFILE_DATA', 'JUPYTERHUB_TRUST_BUNDLE_HUB_CA']);

  // Progress events went to JUPYTERHUB_EVENTS_URL with the server's token; a sync start calls no SetupTunnel.
  await waitFor(async () => calls.some((c) => /Service is ready/.test(c.body?.html_message ?? '')), { what: 'the ready event', timeoutMs: 15_000 });
  const events = calls.filter((c) => c.path === '/hub/api/users/progress/events/alice/lab');
  assert.ok(events.length >= 2 && events.every((c) => c.authorization === 'token tok-alice-lab'), JSON.stringify(calls));
  assert.ok(!calls.some((c) => c.path.includes('setuptunnel')));

  assert.deepEqual((await api('GET', `/services/lab/${startId}`)).body, { status: null, logs: [] });
  const withLogs = await api('GET', `/services/lab/${startId}?collect_logs=true`);
  assert.equal(withLogs.body.status, null);
  assert.ok(Array.isArray(withLogs.body.logs) && withLogs.body.logs.length === 1 && typeof withLogs.body.logs[0] === 'string', withLogs.text);
  const listed = (await api('GET', '/services/')).body as Array<Record<string, unknown>>;
  assert.deepEqual(listed.map((s) => [s.name, s.start_id, s.jupyterhub, s.jupyterhub_userid, s.stop_pending]), [['lab', startId, 'outposthub', '7', false]]);
  // The same POST again (a retried request) answers the same start, and makes nothing new.
  const again = await api('POST', '/services', { body: startBody('lab', startId) });
  assert.deepEqual([again.status, again.body], [200, started.body]);

  const stopped = await api('DELETE', `/services/lab/${startId}`);
  assert.deepEqual([stopped.status, stopped.body], [200, { logs: [] }]);
  await nothingLeft(`lab-${head}`);
  assert.deepEqual((await api('GET', `/services/lab/${startId}`)).body, { detail: 'Item not found' });
  const twice = await api('DELETE', `/services/lab/${startId}`);
  assert.deepEqual([twice.status, twice.body], [404, { detail: 'Item not found' }]);
});

test('identity: two users\' "lab" are two services; another credential sees, polls and stops neither', async () => {
  const [a, b] = [newStartId(), newStartId()];
  const answers = await Promise.all([
    api('POST', '/services', { body: startBody('lab', a, { user: 'ann', userId: 11 }) }),
    api('POST', '/services', { body: startBody('lab', b, { user: 'bob', userId: 12 }) }),
  ]);
  assert.deepEqual(answers.map((r) => r.status), [200, 200], answers.map((r) => r.text).join('\n'));
  assert.notEqual(answers[0]!.body.service, answers[1]!.body.service);
  for (const id of [a, b]) {
    assert.equal((await api('GET', `/services/lab/${id}`, { cred: 'otherhub' })).status, 404);
    assert.equal((await api('DELETE', `/services/lab/${id}`, { cred: 'otherhub' })).status, 404);
  }
  assert.deepEqual((await api('GET', '/services/', { cred: 'otherhub' })).body, []);
  // The seed API of the other credential sees nothing either.
  assert.deepEqual((await callApi(manager.url, 'GET', '/api/services/', { authorization: auth.otherhub })).body, []);
  assert.equal((await api('DELETE', `/services/lab/${a}`)).status, 200);
  await nothingLeft(`lab-${a.slice(0, 8)}`);
  assert.deepEqual((await api('GET', `/services/lab/${b}`)).body, { status: null, logs: [] });
  assert.ok((await managed(`lab-${b.slice(0, 8)}`)).some((n) => n.startsWith('Deployment/')));
  assert.equal((await api('DELETE', `/services/lab/${b}`)).status, 200);
  await nothingLeft(`lab-${b.slice(0, 8)}`);
});

test('refused starts: 419 in the Outpost\'s shape naming the cause, 422 for a body without name; nothing is created', async () => {
  const noName = await api('POST', '/services', { body: { env: {} } });
  assert.equal(noName.status, 422);
  assert.deepEqual(noName.body.detail[0].loc, ['body', 'name']);
  assert.equal(noName.body.detail[0].type, 'missing');

  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [startBody('lab', newStartId(), { misc: { cmd: ['/bin/sh'] } }), /^lab - misc\.cmd may not be overridden by this hub \(allowed: image\)$/],
    [startBody('lab', newStartId(), { profile: 'huge' }), /^lab - profile "huge" is not offered here/],
    [startBody('lab', newStartId(), { profile: 'noservice' }), /^lab - The template of this service creates no Service/],
    [{ ...startBody('', newStartId()) }, /named server/],
  ];
  for (const [body, words] of cases) {
    const r = await api('POST', '/services', { body });
    assert.equal(r.status, 419, r.text);
    assert.deepEqual(Object.keys(r.body).sort(), ['args', 'class', 'kwargs', 'module', 'traceback']);
    assert.equal(r.body.module, '');
    assert.equal(r.body.class, 'Exception');
    assert.match(r.body.args[0], words);
  }
  assert.deepEqual(await managed(), []);
});

test('a failing start: 419 with the cause (events, log tail) and no failed event; everything it made is removed', async () => {
  const startId = newStartId();
  calls.length = 0;
  const r = await api('POST', '/services', { body: startBody('bad', startId, { profile: 'fail' }) });
  assert.equal(r.status, 419, r.text);
  assert.match(r.body.args[0], /^bad - Service status is in state terminated|^bad - Service cannot start/);
  assert.match(r.body.args[1], /^<pre>Events:[\s\S]*BackOff[\s\S]*<\/pre>$/);
  await nothingLeft(`bad-${startId.slice(0, 8)}`);
  assert.deepEqual((await api('GET', `/services/bad/${startId}`)).body, { detail: 'Item not found' });
  await new Promise((res) => setTimeout(res, 1000));
  assert.ok(!calls.some((c) => c.body?.failed), `a sync start's failure is its answer, not an event: ${JSON.stringify(calls)}`);

  // Not ready within outpost.ready_timeout_seconds (8 s here): 419 saying where it was, removed.
  const slowId = newStartId();
  const slow = await api('POST', '/services', { body: startBody('slow', slowId, { profile: 'slow' }) });
  assert.equal(slow.status, 419, slow.text);
  assert.match(slow.body.args[0], /^slow - The service was not ready within 8 s/);
  await nothingLeft(`slow-${slowId.slice(0, 8)}`);
});

test('async: 202 {"service": ""} at once, the address through SetupTunnel when ready; poll; a failure is a failed event', async () => {
  const startId = newStartId();
  calls.length = 0;
  const r = await api('POST', '/services', { body: startBody('lab', startId), headers: { 'execution-type': 'async' } });
  assert.deepEqual([r.status, r.body], [202, { service: '' }]);
  const tunnel = await waitFor(async () => calls.find((c) => c.path === '/hub/api/users/setuptunnel/alice/lab') ?? false, { what: 'the SetupTunnel call', timeoutMs: 20_000 });
  assert.equal(tunnel.authorization, 'token tok-alice-lab');
  assert.deepEqual(tunnel.body, { service: `svc-lab-${startId.slice(0, 8)}-${startId.slice(8, 16)}.${namespace}.svc.cluster.local:47020` });
  assert.deepEqual((await api('GET', `/services/lab/${startId}`)).body, { status: null, logs: [] });
  // An async stop answers 202 {} and removes it as well.
  const stopped = await api('DELETE', `/services/lab/${startId}`, { headers: { 'execution-type': 'async' } });
  assert.deepEqual([stopped.status, stopped.body], [202, {}]);
  await nothingLeft(`lab-${startId.slice(0, 8)}`);

  const badId = newStartId();
  calls.length = 0;
  const bad = await api('POST', '/services', { body: startBody('bad', badId, { profile: 'fail' }), headers: { 'execution-type': 'async' } });
  assert.equal(bad.status, 202);
  const failed = await waitFor(async () => calls.find((c) => c.body?.failed === true) ?? false, { what: 'the failed event', timeoutMs: 30_000 });
  assert.equal(failed.body.progress, 100);
  assert.match(failed.body.html_message, /Service status is in state terminated|Service cannot start/);
  // The cause came first as a progress event (the hub lists those on its progress page).
  const cause = calls.findIndex((c) => c.body?.progress === 99);
  assert.ok(cause >= 0 && cause < calls.indexOf(failed), JSON.stringify(calls.map((c) => c.body)));
  // A poll now answers the exit code (1); the hub then stops it.
  const polled = await api('GET', `/services/bad/${badId}`);
  assert.deepEqual(polled.body, { status: 1, logs: [] });
  assert.equal((await api('DELETE', `/services/bad/${badId}`)).status, 200);
  await nothingLeft(`bad-${badId.slice(0, 8)}`);
});

test('metrics count the starts of each API', async () => {
  const metrics = await (await fetch(`${manager.url}/metrics`)).text();
  const outpost = Number(/^k8smgr_service_starts_total\{api="outpost"\} ([0-9]+)$/m.exec(metrics)?.[1] ?? 'NaN');
  assert.ok(outpost >= 4, `outpost starts counted: ${outpost}`);
});

test('a poll costs no Kubernetes API call', async () => {
  const startId = newStartId();
  calls.length = 0;
  assert.equal((await api('POST', '/services', { body: startBody('lab', startId) })).status, 200);
  // The progress events claim their steps on the anchor (writes of the start, not of polls): let them end first.
  await waitFor(async () => calls.some((c) => /Service is ready/.test(c.body?.html_message ?? '')), { what: 'the ready event', timeoutMs: 15_000 });
  const before = proxy.requests.filter((r) => !r.endsWith('(watch)')).length;
  for (let i = 0; i < 50; i++) assert.equal((await api('GET', `/services/lab/${startId}`)).status, 200);
  const during = proxy.requests.filter((r) => !r.endsWith('(watch)')).slice(before);
  // Leases (the leader's and the process's presence) are renewed on their own clock meanwhile.
  assert.deepEqual(during.filter((r) => !/\/leases\//.test(r)), [], during.join('\n'));
  assert.equal((await api('DELETE', `/services/lab/${startId}`)).status, 200);
  await nothingLeft(`lab-${startId.slice(0, 8)}`);
});
