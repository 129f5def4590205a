// Operations: restart notifications to hubs (HTTPS with a private CA, retries),
// health and readiness, metrics, config hot reload, graceful shutdown.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import parsePrometheus from 'parse-prometheus-text-format';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { startManager, basic } from '../helpers/manager.js';

const { namespace, kubeconfigPath } = await testNamespace();
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-ops-'));

// A hub's restart endpoint over HTTPS, with a CA of its own: fails twice, then accepts.
function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: tmp, stdio: 'pipe' });
}
openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'hub.key', '-out', 'hub.csr');
writeFileSync(path.join(tmp, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
openssl('x509', '-req', '-in', 'hub.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'ext.cnf', '-out', 'hub.pem');

interface Received { body: string; headers: http.IncomingHttpHeaders; at: number }
const httpsReceived: Received[] = [];
const hubTls = https.createServer({ key: readFileSync(path.join(tmp, 'hub.key')), cert: readFileSync(path.join(tmp, 'hub.pem')) }, (req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    httpsReceived.push({ body, headers: req.headers, at: Date.now() });
    res.writeHead(httpsReceived.length <= 2 ? 503 : 200).end();
  });
});
const plainReceived: Received[] = [];
const hubPlain = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    plainReceived.push({ body, headers: req.headers, at: Date.now() });
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => hubTls.listen(0, '127.0.0.1', r));
await new Promise<void>((r) => hubPlain.listen(0, '127.0.0.1', r));
const tlsPort = (hubTls.address() as { port: number }).port;
const plainPort = (hubPlain.address() as { port: number }).port;

const configPath = path.join(tmp, 'config.json');
function writeConfig(extra: Record<string, unknown> = {}) {
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions: path.resolve('test/fixtures/services/descriptions'), base: path.join(tmp, 'rendered') },
    userhomes: { enabled: false },
    startup: { create_user: { testhub: ['access_to_webservice'] } },
    tunnel: [
      { hostname: 'mgr-tls', restart_url: `https://127.0.0.1:${tlsPort}/hub/api/restart`, timeout: 5, certificate_path: path.join(tmp, 'ca.pem'), retry_deadline: 60 },
      { hostname: 'mgr-plain', restart_url: 'http://127.0.0.1:1/wrong', restart_url_stage: { ops: `http://127.0.0.1:${plainPort}/restart` }, cred_env_name: 'PLAIN_AUTH' },
    ],
    ...extra,
  }));
}
writeConfig();
const manager = await startManager({
  kubeconfigPath, namespace, configPath,
  env: { TESTHUB_USER_PASS: 'pw-ops-1234', TUNNEL_BASIC: 'Basic dHVubmVsOnNlY3JldA==', PLAIN_AUTH: 'token plain-secret-1', STAGE: 'ops' },
});
after(async () => {
  if (manager.child.exitCode === null) await manager.kill('SIGKILL');
  hubTls.close();
  hubPlain.close();
});
const auth = { authorization: basic('testhub', 'pw-ops-1234') };

test('restart notifications reach each hub, over HTTPS with its CA and retries, and per stage', async () => {
  await waitFor(async () => httpsReceived.length >= 3 && plainReceived.length >= 1, { what: 'notifications to both hubs', timeoutMs: 30_000 });
  for (const r of httpsReceived) {
    assert.deepEqual(JSON.parse(r.body), { hostname: 'mgr-tls' });
    assert.equal(r.headers.uuidcode, 'StartUp');
    assert.equal(r.headers.authorization, 'Basic dHVubmVsOnNlY3JldA==');
  }
  assert.ok(httpsReceived[2]!.at - httpsReceived[1]!.at >= httpsReceived[1]!.at - httpsReceived[0]!.at, 'backoff grows');
  assert.equal(plainReceived.length, 1);
  assert.deepEqual(JSON.parse(plainReceived[0]!.body), { hostname: 'mgr-plain' });
  assert.equal(plainReceived[0]!.headers.authorization, 'token plain-secret-1');
  await waitFor(async () => /hub notified of the restart.*hub=mgr-tls/.test(manager.output()), { what: `the outcome logged, in:\n${manager.output()}` });
  assert.ok(!manager.output().includes('dHVubmVsOnNlY3JldA=='), 'the Authorization value is not logged');
  assert.ok(!manager.output().includes('plain-secret-1'));
});

test('health and readiness answer without credentials and reveal nothing secret', async () => {
  const health = await fetch(`${manager.url}/api/health/`);
  assert.equal(health.status, 200);
  const healthBody = await health.json() as { status: string; config: { ok: boolean; source: string; last_error: string | null } };
  assert.equal(healthBody.status, 'ok');
  assert.deepEqual([healthBody.config.ok, healthBody.config.source, healthBody.config.last_error], [true, configPath, null]);
  const ready = await fetch(`${manager.url}/api/ready/`);
  assert.equal(ready.status, 200);
  const text = await ready.text();
  const body = JSON.parse(text);
  assert.equal(body.ready, true);
  assert.ok(body.caches.every((c: { synced: boolean }) => c.synced));
  assert.ok(!text.includes('pw-ops-1234') && !text.includes('dHVubmVs'));
});

test('metrics in Prometheus format: requests by route, API calls, services by state', async () => {
  await fetch(`${manager.url}/api/services/`, { headers: auth });
  const res = await fetch(`${manager.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  assert.match(text, /k8smgr_http_requests_total\{method="GET",route="\/api\/services\/",status="200"\} [1-9]/);
  assert.match(text, /k8smgr_kube_requests_total\{verb="list",kind="ConfigMap",code="200"\} [1-9]/);
  assert.match(text, /k8smgr_services\{state="running"\} 0/);
  assert.match(text, /k8smgr_config_ok 1/);
  assert.match(text, /k8smgr_process_resident_memory_bytes/);
  // It parses as Prometheus text, and the counters move with requests.
  const count = (t: string) => Number(parsePrometheus(t).find((f) => f.name === 'k8smgr_http_requests_total')?.metrics
    .find((m) => m.labels?.route === '/api/services/' && m.labels.status === '200')?.value ?? 0);
  const families = parsePrometheus(text);
  assert.ok(families.length > 20);
  assert.equal(families.find((f) => f.name === 'k8smgr_http_request_duration_seconds')?.type, 'HISTOGRAM');
  const before = count(text);
  for (let i = 0; i < 3; i++) await fetch(`${manager.url}/api/services/`, { headers: auth });
  assert.equal(count(await fetch(`${manager.url}/metrics`).then((r) => r.text())), before + 3);
});

test('config hot reload: a change takes effect within seconds; a broken file keeps the last good config, is reported, and the replica stays ready', async () => {
  const startEmpty = () => fetch(`${manager.url}/api/services/`, {
    method: 'POST',
    headers: { ...auth, uuidcode: 'reload-1', 'content-type': 'application/json' },
    body: JSON.stringify({ start_id: 'aaaa0001', user_options: { service: 'lab/empty' }, env: { JUPYTERHUB_STATUS_URL: 'x', JUPYTERHUB_API_TOKEN: 'y', JUPYTERHUB_USER_ID: 1 } }),
  }).then(async (r) => ({ status: r.status, body: await r.json() as { error: string } }));
  const before = await startEmpty();
  assert.equal(before.status, 404);
  assert.equal(before.body.error, "Couldn't find service yaml file.");

  writeConfig({ error_messages: { template_not_found: 'This service is not offered here.' } });
  await waitFor(async () => (await startEmpty()).body.error === 'This service is not offered here.', { what: 'the new config in effect', timeoutMs: 10_000 });

  writeFileSync(configPath, '{"services": {"status_information": {"pod_events_no": "many"}}}');
  // Every replica reads the same ConfigMap: a broken edit must not take them all out of the
  // Service. The replica stays ready, serves with the last good config and reports the error.
  interface ConfigReport { ok: boolean; last_error: string | null }
  const ready = await waitFor(async () => {
    const res = await fetch(`${manager.url}/api/ready/`);
    const body = await res.json() as { ready: boolean; config: ConfigReport };
    return body.config.last_error ? { ...body, status: res.status } : false;
  }, { what: 'readiness details to show the broken config', timeoutMs: 10_000 });
  assert.equal(ready.status, 200);
  assert.equal(ready.ready, true);
  assert.equal(ready.config.ok, false);
  assert.match(ready.config.last_error ?? '', /services\.status_information\.pod_events_no/);
  const health = await fetch(`${manager.url}/api/health/`);
  assert.equal(health.status, 200);
  const healthBody = await health.json() as { status: string; config: ConfigReport };
  assert.equal(healthBody.status, 'ok');
  assert.equal(healthBody.config.ok, false);
  assert.match(healthBody.config.last_error ?? '', /services\.status_information\.pod_events_no/);
  assert.equal((await startEmpty()).body.error, 'This service is not offered here.', 'the last good config stays in use');
  assert.match(await fetch(`${manager.url}/metrics`).then((r) => r.text()), /k8smgr_config_ok 0/);
  assert.match(manager.output(), /config reload refused.*pod_events_no/);
  writeConfig();
  await waitFor(async () => {
    const body = await fetch(`${manager.url}/api/health/`).then((r) => r.json()) as { config: ConfigReport };
    return body.config.ok && body.config.last_error === null;
  }, { what: 'the config reported ok again after the fix', timeoutMs: 10_000 });
  assert.equal((await fetch(`${manager.url}/api/ready/`)).status, 200);
  assert.match(await fetch(`${manager.url}/metrics`).then((r) => r.text()), /k8smgr_config_ok 1/);
});

test('graceful shutdown: a request in flight at SIGTERM is finished, then the process exits 0', async () => {
  const body = JSON.stringify({ start_id: 'slow0001' });
  const { port } = new URL(manager.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  socket.write(
    `POST /api/services/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth.authorization}\r\nuuidcode: slow-1\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
  );
  await new Promise((r) => setTimeout(r, 300));
  const exited = manager.kill('SIGTERM');
  await waitFor(async () => /shutting down/.test(manager.output()), { what: 'the shutdown to begin' });
  // New connections are refused while the slow one is still being served.
  await assert.rejects(fetch(`${manager.url}/api/health/`));
  socket.write(body.slice(5));
  await waitFor(async () => answer.includes('\r\n\r\n') && answer.includes(']'), { what: 'the answer to the slow request', timeoutMs: 5000 });
  assert.match(answer, /^HTTP\/1\.1 400/);
  assert.match(answer, /Missing key in input data: env/);
  assert.equal(await exited, 0);
});
