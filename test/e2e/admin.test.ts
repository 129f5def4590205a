// The admin page in a real browser (Debian's chromium via playwright-core)
// against `k8smgr serve` on the real control plane, with a real OpenSSH server
// for a userjob: log in, watch services appear and fail live, read why, stop
// one from the page, change a log level, create and revoke a token; a
// credential without access_to_admin gets 403; actions without the CSRF token
// or from another origin are refused. Screenshots of each step (docs/images/ with
// K8SMGR_UPDATE_SCREENSHOTS=1).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Page } from 'playwright-core';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic, startManager, type ManagerProcess } from '../helpers/manager.js';
import { callApi } from '../helpers/api.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { freePort, startEchoServer, startSshd, writeClientConfig, type EchoServer, type Sshd } from '../helpers/sshd.js';

const fixtures = path.resolve('test/fixtures/services');
// Screenshots: into docs/images/ with K8SMGR_UPDATE_SCREENSHOTS=1 (for docs/admin.md), else a temporary folder.
const images = process.env.K8SMGR_UPDATE_SCREENSHOTS === '1' ? path.resolve('docs/images') : mkdtempSync(path.join(tmpdir(), 'k8smgr-admin-shots-'));
const { kc, namespace, kubeconfigPath } = await testNamespace();
const core = kc.makeApiClient(k8s.CoreV1Api);
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-admin-'));
const configPath = path.join(tmp, 'config.json');
const passwords = { ADMIN_USER_PASS: 'pw-admin-1', TESTHUB_USER_PASS: 'pw-testhub-1', LOGS_USER_PASS: 'pw-logs-1' };
const auth = {
  admin: basic('admin', passwords.ADMIN_USER_PASS),
  testhub: basic('testhub', passwords.TESTHUB_USER_PASS),
  logs: basic('logs', passwords.LOGS_USER_PASS),
};
/** A value of the start body's env: it must never reach the page. */
const HUB_API_TOKEN = 'hub-api-token-never-shown-7f3a';
const portBase = 43000 + Math.floor(Math.random() * 200) * 10;

let manager: ManagerProcess;
let browser: Browser;
let page: Page;
let sshd: Sshd;
let echo: EchoServer;

before(async () => {
  sshd = await startSshd();
  echo = await startEchoServer();
  const sshConfig = writeClientConfig(tmp, sshd, [{ system: 'hpc1', port: sshd.port }]);
  mkdirSync(path.join(tmp, 'homes'), { recursive: true });
  // The test templates, plus lab/wait: a Deployment of no replicas, so the service stays "starting".
  const descriptions = path.join(tmp, 'descriptions');
  cpSync(path.join(fixtures, 'descriptions'), descriptions, { recursive: true });
  mkdirSync(path.join(descriptions, 'testhub', 'lab', 'wait'), { recursive: true });
  writeFileSync(path.join(descriptions, 'testhub', 'lab', 'wait', 'service.yaml'), [
    'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: depl-<id>', 'spec:', '  replicas: 0',
    '  selector:', '    matchLabels: { app: "<id>" }', '  template:', '    metadata:', '      labels: { app: "<id>" }',
    '    spec:', '      containers:', '        - name: main', '          image: jupyter/base-notebook:latest', '',
  ].join('\n'));
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions, base: path.join(tmp, 'rendered') },
    outpost: { credentials: { testhub: { default_service: 'lab/ok' } } },
    userhomes: { enabled: false, base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
    startup: { create_user: { admin: ['access_to_admin'], testhub: ['access_to_webservice'], logs: ['access_to_logging'] } },
    userjobs: { port_range: [portBase, portBase + 9], control_dir: mkdtempSync('/tmp/adm-ctl-'), check_interval_seconds: 1 },
  }));
  manager = await startManager({ kubeconfigPath, namespace, configPath, env: { ...passwords, SSHCONFIGFILE: sshConfig } });
  browser = await launchBrowser();
  page = browser.page;
  mkdirSync(images, { recursive: true });
});

after(async () => {
  await browser?.close();
  await manager?.kill('SIGTERM');
  await echo?.close();
  await sshd?.stop();
});

const api = (method: string, url: string, opts: { auth?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  callApi(manager.url, method, url, { ...(opts.auth ? { authorization: opts.auth } : {}), body: opts.body, ...(opts.headers ? { headers: opts.headers } : {}) });

const startService = (servername: string, service: string, startId: string) =>
  api('POST', '/api/services/', {
    auth: auth.testhub,
    headers: { uuidcode: servername },
    body: {
      start_id: startId,
      user_options: { service },
      env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/progress', JUPYTERHUB_API_TOKEN: HUB_API_TOKEN, JUPYTERHUB_USER_ID: 42 },
    },
  });

const row = (servername: string) => page.locator(`#services-table tr[data-servername="${servername}"]`);

async function stateOf(servername: string): Promise<string | null> {
  return row(servername).getAttribute('data-state', { timeout: 1000 }).catch(() => null);
}

async function login(credential: string, password: string): Promise<void> {
  await page.fill('#login-credential', credential);
  await page.fill('#login-password', password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(images, name) });
}

test('a credential without access_to_admin gets 403, in the page and from the API', async () => {
  await page.goto(`${manager.url}/admin`);
  assert.equal(new URL(page.url()).pathname, '/admin/', 'redirected to the trailing slash');
  await page.locator('#login').waitFor({ state: 'visible' });
  await shot('admin-login.png');
  await login('testhub', passwords.TESTHUB_USER_PASS);
  await page.locator('#login-error').getByText('access_to_admin').waitFor();
  assert.match(await page.textContent('#login-error') ?? '', /403/);
  assert.equal(await page.locator('#app').isVisible(), false);

  const forbidden = await api('GET', '/admin/api/services', { auth: auth.testhub });
  assert.equal(forbidden.status, 403);
  assert.match(JSON.stringify(forbidden.body), /access_to_admin/);
  const anonymous = await api('GET', '/admin/api/services');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get('www-authenticate'), null, 'no Basic prompt in the browser');
  const wrong = await api('POST', '/admin/api/login', { body: { credential: 'admin', password: 'wrong' } });
  assert.equal(wrong.status, 401);
  // The API answers the admin credential as it answers any credential without the route's group.
  assert.equal((await api('GET', '/api/services/', { auth: auth.admin })).status, 403);
  // Header authentication works for scripts, too.
  assert.equal((await api('GET', '/admin/api/services', { auth: auth.admin })).status, 200);
});

test('services appear live as they start, one turns failed with its cause, and is stopped from the page', async () => {
  await page.fill('#login-credential', '');
  await login('admin', passwords.ADMIN_USER_PASS);
  await page.locator('#app').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#who-name'), 'admin');
  await page.locator('#live.on').waitFor();
  const cookies = await browser.context.cookies(`${manager.url}/admin/`);
  const cookie = cookies.find((c) => c.name === 'k8smgr_admin');
  assert.ok(cookie, 'session cookie set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/admin/');

  // Record every state each row shows, and every request the page makes from now on.
  // (A script as text: the tests are compiled without the DOM's types.)
  await page.evaluate(`(() => {
    const seen = (window.seen = {});
    const note = () => {
      for (const tr of document.querySelectorAll('#services-table tr[data-servername]')) {
        const list = (seen[tr.dataset.servername] ??= []);
        if (list.at(-1) !== tr.dataset.state) list.push(tr.dataset.state);
      }
    };
    new MutationObserver(note).observe(document.querySelector('#services-table tbody'), { childList: true, subtree: true, attributes: true });
  })()`);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));

  const waiting = await startService('lab-wait', 'lab/wait', 'dddd0001');
  assert.equal(waiting.status, 201, JSON.stringify(waiting.body));
  await row('lab-wait').waitFor({ timeout: 30_000 });
  const ok = await startService('lab-ok', 'lab/ok', 'aaaa0001');
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  const bad = await startService('lab-bad', 'lab/fail', 'bbbb0001');
  assert.equal(bad.status, 201, JSON.stringify(bad.body));

  await row('lab-ok').waitFor({ timeout: 30_000 });
  await waitFor(async () => (await stateOf('lab-ok')) === 'running', { what: 'lab-ok running on the page', timeoutMs: 90_000, intervalMs: 250 });
  await waitFor(async () => (await stateOf('lab-bad')) === 'failed', { what: 'lab-bad failed on the page', timeoutMs: 90_000, intervalMs: 250 });
  const seen = (await page.evaluate('window.seen')) as Record<string, string[]>;
  assert.deepEqual(seen['lab-wait'], ['starting'], 'a service that has no pod yet shows as starting');
  assert.equal(seen['lab-ok']?.at(-1), 'running', `lab-ok states: ${seen['lab-ok']?.join(' → ')}`);
  assert.equal(seen['lab-bad']?.at(-1), 'failed', `lab-bad states: ${seen['lab-bad']?.join(' → ')}`);
  // Live through the event stream: no request was made to learn any of it.
  assert.deepEqual(requests.filter((p) => p.startsWith('/admin/api/')), [], requests.join(', '));

  // The row says what the hub was told; the table has the columns asked for.
  const cells = await row('lab-ok').locator('td').allTextContents();
  assert.equal(cells[0], 'testhub');
  assert.equal(cells[1], 'seed');
  assert.equal(cells[2], 'lab-ok');
  assert.equal(cells[3], '42');
  assert.equal(cells[4], 'lab/ok');
  assert.match(cells[5]!, /^\d+ s$|min/);
  assert.ok(cells[6]!.length > 0, 'a node');
  assert.match(await row('lab-bad').textContent() ?? '', /failed.*Service (status is|cannot start)/);

  // Charts: by state, and the starts/failures of the last hour.
  assert.equal(await page.textContent('#chart-states-svg text[data-state="starting"]'), '1');
  assert.equal(await page.textContent('#chart-states-svg text[data-state="running"]'), '1');
  assert.equal(await page.textContent('#chart-states-svg text[data-state="failed"]'), '1');
  assert.equal(await page.getAttribute('#chart-activity-svg', 'data-starts'), '3');
  assert.equal(await page.getAttribute('#chart-activity-svg', 'data-failures'), '1');

  // Filter and search.
  await page.selectOption('#filter-state', 'failed');
  await waitFor(async () => (await row('lab-ok').count()) === 0 && (await row('lab-wait').count()) === 0 && (await row('lab-bad').count()) === 1, { what: 'filter by state' });
  await page.selectOption('#filter-state', '');
  await page.fill('#filter-search', 'lab/ok');
  await waitFor(async () => (await row('lab-ok').count()) === 1 && (await row('lab-bad').count()) === 0, { what: 'search' });
  await page.fill('#filter-search', '');
  await row('lab-bad').waitFor();
  await shot('admin-services.png');

  // Details of the failed one: why (events, the error), objects, rendered manifests.
  await row('lab-bad').getByRole('button', { name: 'lab-bad' }).click();
  const details = page.locator('#details');
  await details.locator('#details-events').waitFor();
  assert.match(await details.locator('#details-error').textContent() ?? '', /Service (status is|cannot start)/);
  assert.match(await details.locator('#details-events').textContent() ?? '', /BackOff/);
  assert.match(await details.locator('#details-detail').textContent() ?? '', /Events:[\s\S]*BackOff/);
  const objects = await details.locator('#details-objects').textContent() ?? '';
  assert.match(objects, /Deployment\s*depl-lab-bad-bbbb0001/);
  assert.match(objects, /Secret/);
  await page.setViewportSize({ width: 1280, height: 1500 });
  await shot('admin-details.png');
  await page.setViewportSize({ width: 1280, height: 900 });
  await details.locator('#details-rendered summary', { hasText: 'service.yaml' }).click();
  assert.match(await details.locator('#details-rendered').textContent() ?? '', /image: fail:latest/);
  await details.locator('#details-rendered').screenshot({ path: path.join(images, 'admin-manifests.png') });
  const html = await page.content();
  assert.ok(!html.includes(HUB_API_TOKEN), 'the hub API token from the start body is not on the page');
  assert.ok(!html.includes(passwords.ADMIN_USER_PASS), 'no password on the page');

  // Actions need the CSRF token and this origin.
  const id = await row('lab-bad').getAttribute('data-id');
  assert.ok(id);
  const noToken = await page.evaluate(async (anchor) => {
    const res = await fetch(`api/services/${anchor}/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    return res.status;
  }, id);
  assert.equal(noToken, 403);
  const session = cookie.value;
  const csrf = (await api('GET', '/admin/api/session', { headers: { cookie: `k8smgr_admin=${session}` } })).body.csrf as string;
  const foreign = await api('POST', `/admin/api/services/${id}/stop`, {
    body: {}, headers: { cookie: `k8smgr_admin=${session}`, 'x-csrf-token': csrf, origin: 'http://evil.example' },
  });
  assert.equal(foreign.status, 403);
  assert.equal((await api('GET', '/api/services/lab-bad/', { auth: auth.testhub })).status, 200, 'still there after refused actions');

  // Stop from the page, with confirmation.
  await details.locator('#details-stop').click();
  await page.locator('#confirm').getByText('Stop lab-bad of testhub').waitFor();
  await page.locator('#confirm-yes').click();
  await row('lab-bad').waitFor({ state: 'detached', timeout: 60_000 });
  assert.equal((await api('GET', '/api/services/lab-bad/', { auth: auth.testhub })).status, 404);
  await waitFor(async () => {
    const anchors = await core.listNamespacedConfigMap({ namespace, labelSelector: 'k8smgr.io/servername=lab-bad,k8smgr.io/role=anchor' });
    return anchors.items.filter((a) => !a.metadata?.deletionTimestamp).length === 0;
  }, { what: 'the anchor of lab-bad gone' });
  assert.match(manager.output(), /admin page: stopping a service.*admin.*lab-bad|lab-bad.*admin page: stopping a service/);
  assert.equal(await page.textContent('#chart-states-svg text[data-state="failed"]'), '0');
});

test('a start of the Outpost API shows which API it came from, with the hub\'s server name and user', async () => {
  const startId = 'cafe0123cafe0123cafe0123cafe0123';
  const started = await api('POST', '/outpost/services', {
    auth: auth.testhub,
    body: { name: 'lab', env: { JUPYTERHUB_USER: 'carol', JUPYTERHUB_USER_ID: '43', JUPYTERHUB_API_TOKEN: HUB_API_TOKEN }, user_options: { start_id: startId }, misc: { port: 8888 } },
  });
  assert.equal(started.status, 200, started.text);
  const outpostRow = page.locator('#services-table tr[data-api="outpost"]');
  await outpostRow.waitFor({ timeout: 30_000 });
  const cells = await outpostRow.locator('td').allTextContents();
  assert.deepEqual([cells[0], cells[1], cells[2], cells[3]], ['testhub', 'Outpost: carol/lab', 'lab-cafe0123', '43']);
  await outpostRow.getByRole('button', { name: 'lab-cafe0123' }).click();
  try {
    await page.locator('#details-api').waitFor();
    assert.match(await page.textContent('#details-api') ?? '', new RegExp(`JupyterHub Outpost API: server "lab" of carol, start_id ${startId}, reached at lab-cafe0123-cafe0123\\.`));
  } finally {
    await page.keyboard.press('Escape');
  }
  assert.ok(!(await page.content()).includes(HUB_API_TOKEN));
  assert.equal((await api('DELETE', `/outpost/services/lab/${startId}`, { auth: auth.testhub })).status, 200);
  await outpostRow.waitFor({ state: 'detached', timeout: 30_000 });
});

test('change a log level and send a log test from the page', async () => {
  await page.locator('#logging').scrollIntoViewIfNeeded();
  const stream = page.locator('#logging-table tr[data-handler="stream"]');
  await stream.waitFor();
  await page.selectOption('#level-stream', '30');
  await stream.getByRole('button', { name: 'Set level' }).click();
  await page.locator('#notice').getByText('Level of the stream handler set to 30').waitFor();
  const handler = await api('GET', '/api/logs/handler/stream/', { auth: auth.logs });
  assert.equal(handler.status, 200);
  assert.equal(handler.body.configuration.level, 30);
  assert.match(await stream.locator('code').textContent() ?? '', /"level":30/);

  const before = manager.output().length;
  await page.getByRole('button', { name: 'Send a log test' }).click();
  await waitFor(async () => manager.output().slice(before).includes('Logtest: CRITICAL'), { what: 'the log test in the manager output' });
  const logged = manager.output().slice(before);
  assert.match(logged, /Logtest: WARNING/);
  assert.doesNotMatch(logged, /Logtest: INFO/, 'INFO is below the new level');
  await page.locator('#logging').screenshot({ path: path.join(images, 'admin-logging.png') });
});

test('create a token (shown once) and revoke it', async () => {
  await page.locator('#hubs').scrollIntoViewIfNeeded();
  const hub = page.locator('#hubs-table tr[data-credential="testhub"]');
  await hub.waitFor();
  assert.match(await hub.textContent() ?? '', /access_to_webservice/);
  // The hub's requests above are seen.
  await page.locator('#hubs-refresh').click();
  await waitFor(async () => !/—\s*$/.test((await hub.locator('td').nth(3).textContent()) ?? '—'), { what: 'last request of testhub shown' });

  await page.getByRole('button', { name: 'Create a token for testhub' }).click();
  const value = page.locator('#token-value');
  await page.locator('#token-dialog').waitFor({ state: 'visible' });
  const token = await value.inputValue();
  assert.match(token, /^k8smgr_[0-9a-f]{16}_/);
  const id = token.split('_')[1]!;
  assert.equal((await api('GET', '/api/services/', { auth: `token ${token}` })).status, 200, 'the new token works');
  await page.locator('#token-done').click();
  assert.equal(await value.inputValue(), '', 'the token leaves the page with its dialog');
  assert.ok(!(await page.content()).includes(token), 'the token is not rendered anywhere else');
  const listed = hub.locator(`li[data-token="${id}"]`);
  await listed.waitFor();
  await page.locator('#hubs-refresh').click();
  await waitFor(async () => /last request/.test((await hub.locator(`li[data-token="${id}"]`).textContent()) ?? ''), { what: 'the token\'s last request' });
  await page.locator('#hubs').screenshot({ path: path.join(images, 'admin-hubs.png') });

  await listed.getByRole('button', { name: `Revoke token ${id} of testhub` }).click();
  await page.locator('#confirm-yes').click();
  await listed.waitFor({ state: 'detached' });
  await waitFor(async () => (await api('GET', '/api/services/', { auth: `token ${token}` })).status === 401, { what: 'the revoked token refused' });
  const credentials = await api('GET', '/admin/api/hubs', { auth: auth.admin });
  assert.ok(!JSON.stringify(credentials.body).includes('scrypt'), 'no hash in the answer');
});

test('userjobs with their system, node, ports and state; replicas', async () => {
  assert.equal((await startService('lab-uj', 'lab/ok', 'cccc0001')).status, 201);
  await row('lab-uj').waitFor({ timeout: 30_000 });
  const created = await api('POST', '/api/userjobs/', {
    auth: auth.testhub,
    body: { service: 'lab-uj', hostname: 'hpc1', target_node: 'localhost', ports: { '8080': String(echo.port) }, jobid: 4242 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await page.locator('#userjobs').scrollIntoViewIfNeeded();
  await page.locator('#userjobs-refresh').click();
  const uj = page.locator('#userjobs-table tr[data-service="lab-uj"]');
  await uj.waitFor();
  const cells = await uj.locator('td').allTextContents();
  assert.deepEqual(cells.slice(0, 4), ['testhub', 'lab-uj', 'hpc1', 'localhost']);
  assert.equal(cells[4], `8080 → ${created.body.local_ports['8080']} → ${echo.port}`);
  assert.equal(cells[5], 'running');
  const system = await page.locator('#systems-table tr[data-system="hpc1"] td').allTextContents();
  assert.match(system[0]!, /up pid \d+/);
  assert.equal(system[1], '1', 'one master start');
  assert.ok(system[2] && system[2] !== 'unknown' && system[2] === cells[7], `the master's start is shown as the last restart: ${system[2]}`);
  await page.locator('#userjobs').screenshot({ path: path.join(images, 'admin-userjobs.png') });

  // One manager: it leads (the Lease), and the page says so.
  await page.locator('#replicas-refresh').click();
  await page.locator('#replicas-mode').getByText(/holds the Lease/).waitFor();
  assert.match(await page.locator('#replica-self').textContent() ?? '', /pid \d+/);
  const self = await page.locator('#replicas-table tbody tr').filter({ has: page.locator('td', { hasText: /^yes$/ }) }).first().locator('td').allTextContents();
  assert.match(self[0] ?? '', /^[0-9a-f]{8} \(pid \d+\)$/, `its process id: ${JSON.stringify(self)}`);
  assert.equal(self[1], 'yes', `this page's replica: ${JSON.stringify(self)}`);
  assert.equal(self[2], 'yes', `it is live: ${JSON.stringify(self)}`);
  assert.equal(self[3], 'yes', `it holds the Lease: ${JSON.stringify(self)}`);
});

test('the session ends with logout; the cookie no longer works', async () => {
  const cookie = (await browser.context.cookies(`${manager.url}/admin/`)).find((c) => c.name === 'k8smgr_admin')!;
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login').waitFor({ state: 'visible' });
  assert.equal((await api('GET', '/admin/api/session', { headers: { cookie: `k8smgr_admin=${cookie.value}` } })).status, 401);
  const pageErrors = browser.console.filter((m) => m.startsWith('pageerror'));
  assert.deepEqual(pageErrors, []);
  // Stop what the tests started (the namespace goes anyway).
  for (const name of ['lab-ok', 'lab-uj', 'lab-wait']) {
    assert.equal((await api('DELETE', `/api/services/${name}/`, { auth: auth.testhub })).status, 204);
    assert.equal((await api('GET', `/api/services/${name}/`, { auth: auth.testhub })).status, 404);
  }
});

test('one session on every replica: a login on one works on another at once; a logout on the other ends it on both', async () => {
  // A fixed port: the stream handler's level is WARNING since the log level test, so "listening" is not logged.
  const second = await startManager({ kubeconfigPath, namespace, configPath, env: { ...passwords, POD_NAME: 'admin-replica-b', PORT: String(await freePort()) } });
  try {
    const login = await callApi(manager.url, 'POST', '/admin/api/login', { body: { credential: 'admin', password: passwords.ADMIN_USER_PASS } });
    assert.equal(login.status, 200, login.text);
    const id = /k8smgr_admin=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? '';
    assert.ok(id, 'a session cookie');
    const cookie = `k8smgr_admin=${id}`;
    // At once on the other replica (no sticky sessions): it reads the sessions' Secret on a miss.
    const onB = await callApi(second.url, 'GET', '/admin/api/session', { headers: { cookie } });
    assert.equal(onB.status, 200, onB.text);
    assert.equal(onB.body.credential, 'admin');
    assert.equal(onB.body.csrf, login.body.csrf);
    assert.notEqual(onB.body.replica, login.body.replica);
    // The Secret every replica reads holds neither the session id nor a password hash.
    const secrets = await core.listNamespacedSecret({ namespace, labelSelector: 'app.kubernetes.io/component=admin-sessions' });
    assert.equal(secrets.items.length, 1);
    const stored = Buffer.from(secrets.items[0]!.data?.['sessions.json'] ?? '', 'base64').toString('utf8');
    assert.ok(stored.includes(login.body.csrf), 'the session is in the Secret');
    assert.ok(!stored.includes(id), 'the session id is in the Secret');
    assert.ok(!stored.includes('scrypt'), 'a password hash is in the Secret');
    // A logout on B (with the session's CSRF token) ends the session on A too.
    const logout = await callApi(second.url, 'POST', '/admin/api/logout', { headers: { cookie, 'x-csrf-token': login.body.csrf } });
    assert.equal(logout.status, 204, logout.text);
    await waitFor(async () => (await callApi(manager.url, 'GET', '/admin/api/session', { headers: { cookie } })).status === 401,
      { what: 'the session ended on the first replica', timeoutMs: 10_000 });
    assert.equal((await callApi(second.url, 'GET', '/admin/api/session', { headers: { cookie } })).status, 401);
  } finally {
    await second.kill('SIGTERM');
  }
});

test('an open event stream does not hold up the manager\'s shutdown', async () => {
  await login('admin', passwords.ADMIN_USER_PASS);
  await page.locator('#live.on').waitFor();
  const t0 = Date.now();
  const code = await manager.kill('SIGTERM');
  assert.equal(code, 0, manager.output().slice(-2000));
  assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
  await page.locator('#live.off').waitFor();
});
