// Progress events from a real manager (child process) on the real control plane
// to a tiny local HTTP receiver standing for the hub's JUPYTERHUB_STATUS_URL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic, startManager, type ManagerProcess } from '../helpers/manager.js';
import { callApi } from '../helpers/api.js';

const fixtures = path.resolve('test/fixtures/services');
const { namespace, kubeconfigPath } = await testNamespace();
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-progress-'));
const configPath = path.join(tmp, 'config.json');
mkdirSync(path.join(tmp, 'skel', 'testhub'), { recursive: true });
writeFileSync(configPath, JSON.stringify({
  services: { descriptions: path.join(fixtures, 'descriptions'), base: path.join(tmp, 'rendered') },
  userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
  startup: { create_user: { testhub: ['access_to_webservice'] } },
}));
const PASSWORD = 'pw-progress-1';
const TOKEN = 'hub-api-token-never-logged-7f3a';
const auth = basic('testhub', PASSWORD);

interface Received { path: string; authorization: string | undefined; body: { progress: number; html_message: string; failed?: boolean }; at: number }
const received: Received[] = [];
let receiver: Server;
let receiverUrl: string;
let manager: ManagerProcess;

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url?.includes('/hang/')) return; // never answers: a hub that hangs
      received.push({ path: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(body), at: Date.now() });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  manager = await startManager({ kubeconfigPath, namespace, configPath, env: { TESTHUB_USER_PASS: PASSWORD } });
});
after(async () => {
  await manager?.kill('SIGTERM');
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

function api(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  return callApi(manager.url, method, url, { authorization: auth, body, headers });
}

function start(servername: string, service: string, startId: string, env: Record<string, unknown>) {
  return api('POST', '/api/services/', {
    start_id: startId,
    user_options: { service },
    env: { JUPYTERHUB_API_TOKEN: TOKEN, JUPYTERHUB_USER_ID: 7, ...env },
  }, { uuidcode: servername });
}

const eventsFor = (server: string) => received.filter((r) => r.path.endsWith(`/${server}`));
const summary = (r: Received) => /<summary>([^<]*)<\/summary>/.exec(r.body.html_message)?.[1] ?? '';

async function stop(servername: string): Promise<void> {
  assert.equal((await api('DELETE', `/api/services/${servername}/`)).status, 204);
}

test('a starting service reports each step once, in order, with the hub token, ending with ready', async () => {
  const r = await start('prog-ok', 'lab/ok', 'aaaa0001', { JUPYTERHUB_STATUS_URL: `${receiverUrl}/hub/api/users/progress/status/u/prog-ok` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await waitFor(async () => eventsFor('prog-ok').some((e) => summary(e) === 'Service is ready'), { what: 'the ready event', timeoutMs: 60_000 });
  // Nothing more comes after ready.
  await new Promise((res) => setTimeout(res, 1500));
  const events = eventsFor('prog-ok');
  assert.equal(summary(events[0]!), 'Kubernetes objects created');
  assert.match(events[0]!.body.html_message, /Deployment\/depl-prog-ok-aaaa0001/);
  assert.equal(summary(events.at(-1)!), 'Service is ready');
  const progress = events.map((e) => e.body.progress);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), JSON.stringify(progress));
  assert.equal(new Set(progress).size, progress.length, 'one event per step');
  for (const e of events) {
    assert.equal(e.authorization, `token ${TOKEN}`);
    assert.equal(e.body.failed, undefined);
    assert.match(e.body.html_message, /^<details><summary>[^<]+<\/summary>.*<\/details>$/s);
  }
  // Polls still work, and the token never reached the manager's log.
  assert.equal((await api('GET', '/api/services/prog-ok/')).body.running, true);
  await stop('prog-ok');
  assert.ok(!manager.output().includes(TOKEN), 'the token is not logged');
});

test('a failing service reports one failed event with the reason, the events and the log tail', async () => {
  const r = await start('prog-fail', 'lab/fail', 'bbbb0001', { JUPYTERHUB_STATUS_URL: `${receiverUrl}/hub/api/users/progress/status/u/prog-fail` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const failed = await waitFor(async () => eventsFor('prog-fail').find((e) => e.body.failed), { what: 'the failed event', timeoutMs: 60_000 });
  assert.equal(failed.body.progress, 100);
  assert.match(failed.body.html_message, /<summary>(Service status is in state terminated|Service cannot start|Service status is Failed)<\/summary>/);
  assert.match(failed.body.html_message, /Events:/);
  assert.match(failed.body.html_message, /BackOff/);
  assert.match(failed.body.html_message, /Logs:/);
  await new Promise((res) => setTimeout(res, 1000));
  const events = eventsFor('prog-fail');
  assert.equal(events.filter((e) => e.body.failed).length, 1);
  assert.equal(events.at(-1), failed, 'nothing after the failure');
  await stop('prog-fail');
});

test('a relative JUPYTERHUB_STATUS_URL (as EventBackendSpawner sets it) is resolved against JUPYTERHUB_API_URL', async () => {
  const r = await start('prog-rel', 'lab/ok', 'cccc0001', {
    JUPYTERHUB_STATUS_URL: 'users/progress/status/u/prog-rel',
    JUPYTERHUB_API_URL: `${receiverUrl}/hub/api`,
  });
  assert.equal(r.status, 201);
  const first = await waitFor(async () => eventsFor('prog-rel')[0], { what: 'an event at the resolved URL', timeoutMs: 30_000 });
  assert.equal(first.path, '/hub/api/users/progress/status/u/prog-rel');
  await stop('prog-rel');
});

test('a hub that is down or hangs costs the start and the polls nothing but a warning', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));

  const down = await start('prog-down', 'lab/ok', 'dddd0001', { JUPYTERHUB_STATUS_URL: `http://127.0.0.1:${deadPort}/hub/api/users/progress/status/u/prog-down` });
  const hang = await start('prog-hang', 'lab/ok', 'eeee0001', { JUPYTERHUB_STATUS_URL: `${receiverUrl}/hang/prog-hang` });
  assert.equal(down.status, 201);
  assert.equal(hang.status, 201);
  assert.ok(down.ms < 5000 && hang.ms < 5000, `starts took ${down.ms} and ${hang.ms} ms`);
  for (const name of ['prog-down', 'prog-hang']) {
    const polled = await waitFor(async () => {
      const p = await api('GET', `/api/services/${name}/`);
      return p.body.state === 'running' ? p : false;
    }, { what: `${name} running`, timeoutMs: 60_000 });
    assert.ok(polled.ms < 1000, `poll took ${polled.ms} ms`);
  }
  await waitFor(async () => /progress event not delivered to the hub.*prog-down|prog-down.*progress event not delivered/.test(manager.output()), { what: 'a warning for the hub that is down', timeoutMs: 30_000 });
  await waitFor(async () => /no answer within/.test(manager.output()), { what: 'a warning for the hub that hangs', timeoutMs: 30_000 });
  assert.ok(!manager.output().includes(TOKEN), 'the token is not logged');
  await stop('prog-down');
  await stop('prog-hang');
});
