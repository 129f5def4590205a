// Userjobs against the real control plane and a real OpenSSH server on
// loopback: forwards through a control master to an echo server standing for
// the job's node, the Kubernetes Service, supervision, restart, clean-up.
//
// The manager is composed in this process the way `k8smgr serve` composes it
// (config, caches, credentials, services, buildApp with the userjobs plugin),
// so a "restart" is a new composition and a "crash" one that leaves ssh running.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor, isNotFound } from '../helpers/cluster.js';
import { basic } from '../helpers/manager.js';
import { echoThrough, freePort, isListening, startEchoServer, startSshd, writeClientConfig, type EchoServer, type Sshd } from '../helpers/sshd.js';
import { readEnv } from '../../src/config/env.js';
import { ConfigStore } from '../../src/config/store.js';
import { LogHub } from '../../src/logging/hub.js';
import { createLogger } from '../../src/logging/logger.js';
import { StreamHandler } from '../../src/logging/stream-handler.js';
import { loadKubeConfig } from '../../src/kube/client.js';
import { KubeGateway } from '../../src/kube/gateway.js';
import { ServiceCache } from '../../src/services/cache.js';
import { ServiceManager } from '../../src/services/manager.js';
import { buildApp } from '../../src/http/app.js';
import { createCredentialStore } from '../../src/auth/store.js';
import { CredentialAuthenticator } from '../../src/auth/authenticator.js';
import { applyStartupUsers } from '../../src/auth/startup.js';
import { createUserjobs, type Userjobs } from '../../src/userjobs/index.js';
import { callApi } from '../helpers/api.js';

const DEPLOYMENT = 'k8smgr-uj';
const fixtures = path.resolve('test/fixtures/services');
const { kc, namespace, kubeconfigPath } = await testNamespace();
const core = kc.makeApiClient(k8s.CoreV1Api);
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-userjobs-'));
const controlDir = mkdtempSync('/tmp/uj-ctl-');
const passwords = { TESTHUB_USER_PASS: 'pw-uj-testhub', OTHERHUB_USER_PASS: 'pw-uj-otherhub' };
const auth = { testhub: basic('testhub', passwords.TESTHUB_USER_PASS), otherhub: basic('otherhub', passwords.OTHERHUB_USER_PASS) };
// A port range of our own, away from other test files' ports.
const portBase = 41000 + Math.floor(Math.random() * 200) * 50;
const portRange: [number, number] = [portBase, portBase + 49];

let sshd: Sshd;
let echo: EchoServer;
let sshConfig: string;
let silent: net.Server;
let closedPort: number;
let manager: Manager;

interface Manager {
  url: string;
  userjobs: Userjobs;
  cache: ServiceCache;
  output(): string;
  /** Graceful stop (as SIGTERM): the control masters end with it. */
  close(): Promise<void>;
  /** As a crash: the HTTP side and watches stop, ssh keeps running. */
  crash(): Promise<void>;
}

async function launch(): Promise<Manager> {
  const env = readEnv({
    KUBECONFIG: kubeconfigPath, CONFIG_PATH: path.join(tmp, 'config.json'), DEPLOYMENT_NAMESPACE: namespace, MANAGER_NAMESPACE: namespace,
    DEPLOYMENT_NAME: DEPLOYMENT, SSHCONFIGFILE: sshConfig, HOST: '127.0.0.1', PORT: '0', ...passwords,
  });
  let out = '';
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => (out += d.toString()));
  const hub = new LogHub();
  await hub.set(new StreamHandler(10, 'simple', sink));
  const logger = createLogger(hub, { deployment: env.deploymentName });
  const configStore = new ConfigStore(env.configPath);
  await configStore.load();
  const kc = loadKubeConfig(env.kubeconfig);
  const gateway = new KubeGateway(kc, { fieldManager: 'k8smgr' });
  const cache = new ServiceCache(gateway, env.serviceNamespace, env.deploymentName);
  cache.start();
  const store = createCredentialStore({ gateway, namespace: env.managerNamespace, deploymentName: env.deploymentName, logger });
  await store.start();
  await applyStartupUsers(store, configStore.current.startup.create_user, env.lookup);
  const authenticator = new CredentialAuthenticator({ store, logger });
  // The wiring serve.ts needs (see docs/userjobs.md): create, observer, the API for buildApp, start, stop.
  const userjobs = createUserjobs({ config: () => configStore.current, env, gateway, cache, logger });
  const services = new ServiceManager({
    config: () => configStore.current, env, gateway, cache, logger, identity: { replica: 'userjobs-test', boot: 'b1' },
    observer: { stopped: (record) => userjobs.onServiceStopped(record) },
  });
  await cache.waitForSync();
  await userjobs.start();
  const app = buildApp({
    logger, authenticator, services, bodyLimitBytes: 65536, userjobs: userjobs.manager,
    readiness: { check: () => ({ ready: true, details: {} }) },
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const shutdown = async (graceful: boolean) => {
    await app.close();
    if (graceful) await userjobs.stop();
    else await userjobs.manager.abandon();
    cache.stop();
    store.stop();
    authenticator.close();
    configStore.close();
    await hub.closeAll();
  };
  return { url: address, userjobs, cache, output: () => out, close: () => shutdown(true), crash: () => shutdown(false) };
}

before(async () => {
  sshd = await startSshd();
  echo = await startEchoServer();
  closedPort = await freePort();
  // Accepts TCP connections and never says a word (a hanging login node).
  silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as net.AddressInfo).port;
  sshConfig = writeClientConfig(tmp, sshd, [
    { system: 'hpc1', port: sshd.port }, { system: 'down', port: closedPort }, { system: 'silent', port: silentPort },
  ]);
  mkdirSync(path.join(tmp, 'homes'), { recursive: true });
  writeFileSync(path.join(tmp, 'config.json'), JSON.stringify({
    services: { descriptions: path.join(fixtures, 'descriptions'), base: path.join(tmp, 'rendered') },
    userhomes: { enabled: false, base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
    startup: { create_user: { testhub: ['access_to_webservice'], otherhub: ['access_to_webservice'] } },
    userjobs: {
      port_range: portRange, control_dir: controlDir, check_interval_seconds: 0.5,
      connect_timeout_seconds: 3, command_timeout_seconds: 5, restore_timeout_seconds: 5,
    },
  }));
  manager = await launch();
});

after(async () => {
  await manager?.close();
  await echo?.close();
  silent?.close();
  await sshd?.stop();
});

function api(method: string, url: string, opts: { cred?: keyof typeof auth; body?: unknown; headers?: Record<string, string> } = {}) {
  return callApi(manager.url, method, url, { authorization: auth[opts.cred ?? 'testhub'], body: opts.body, headers: opts.headers });
}

/** Starts a user service and waits until the manager's cache has its anchor. */
async function startService(servername: string, startId: string, cred: keyof typeof auth = 'testhub'): Promise<void> {
  const r = await api('POST', '/api/services/', {
    cred,
    headers: { uuidcode: servername },
    body: {
      start_id: startId, user_options: { service: 'lab/ok' },
      env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/progress', JUPYTERHUB_API_TOKEN: 'tok', JUPYTERHUB_USER_ID: 7 },
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await waitFor(async () => manager.cache.find(cred, servername), { what: `the anchor of ${servername} in the cache`, timeoutMs: 20_000 });
}

const userjob = (service: string, extra: Record<string, unknown> = {}) =>
  ({ service, hostname: 'hpc1', target_node: 'localhost', ports: { '8080': String(echo.port) }, jobid: 4242, ...extra });

async function readService(name: string): Promise<k8s.V1Service | undefined> {
  try {
    return await core.readNamespacedService({ name, namespace });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A process that runs (a zombie does not: ssh's daemonized masters may be reaped by nobody here). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const masterPid = (): number | undefined => manager.userjobs.manager.status().systems.hpc1?.pid;

test('POST forwards a port to the job node, with a Service in front that selects the manager pod', async () => {
  await startService('lab-uj-one', 'aaaa0001');
  const r = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-one') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.service, 'lab-uj-one');
  assert.equal(r.body.hostname, 'hpc1');
  assert.equal(r.body.target_node, 'localhost');
  assert.deepEqual(r.body.ports, { '8080': String(echo.port) });
  assert.equal(r.body.jobid, '4242');
  assert.equal(r.body.kubernetes_service, 'lab-uj-one');
  assert.equal(r.body.running, true);
  let local = r.body.local_ports['8080'] as number;
  assert.ok(local >= portRange[0] && local <= portRange[1], `local port ${local} in ${portRange.join('-')}`);

  assert.equal(await echoThrough(local, 'hello through the tunnel'), 'hello through the tunnel');

  const svc = await readService('lab-uj-one');
  assert.ok(svc, 'the userjob Service exists');
  assert.deepEqual(svc.spec?.selector, { name: DEPLOYMENT });
  assert.deepEqual(svc.spec?.ports?.map((p) => [p.port, p.targetPort, p.protocol]), [[8080, local, 'TCP']]);
  assert.equal(svc.metadata?.labels?.['app.kubernetes.io/managed-by'], 'k8smgr');
  assert.equal(svc.metadata?.labels?.['k8smgr.io/role'], 'userjob');
  const anchor = manager.cache.find('testhub', 'lab-uj-one')!.anchor;
  assert.deepEqual(svc.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [['ConfigMap', anchor.metadata.name, anchor.metadata.uid]]);

  const one = await api('GET', '/api/userjobs/lab-uj-one/');
  assert.equal(one.status, 200);
  assert.equal(one.body.state, 'running');
  const list = await api('GET', '/api/userjobs/');
  assert.deepEqual(list.body.map((u: { service: string }) => u.service), ['lab-uj-one']);

  // The same POST again answers the same userjob (same local port).
  const again = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-one') });
  assert.equal(again.status, 201);
  assert.equal(again.body.local_ports['8080'], local);

  // A POST with other ports replaces the userjob: new forward, the old one ends, the Service follows.
  const moved = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-one', { ports: { '8081': String(echo.port) } }) });
  assert.equal(moved.status, 201, JSON.stringify(moved.body));
  const movedLocal = moved.body.local_ports['8081'] as number;
  assert.notEqual(movedLocal, local);
  assert.equal(await echoThrough(movedLocal, 'moved'), 'moved');
  assert.equal(await isListening(local), false, 'the replaced forward is cancelled');
  assert.deepEqual((await readService('lab-uj-one'))?.spec?.ports?.map((p) => [p.port, p.targetPort]), [[8081, movedLocal]]);
  const back = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-one') });
  assert.equal(back.status, 201);
  local = back.body.local_ports['8080'] as number;
  assert.equal(await echoThrough(local, 'back again'), 'back again');

  // Another credential sees nothing of it.
  assert.deepEqual((await api('GET', '/api/userjobs/', { cred: 'otherhub' })).body, []);
  assert.deepEqual(await api('GET', '/api/userjobs/lab-uj-one/', { cred: 'otherhub' }).then((c) => [c.status, c.body]), [404, { detail: 'Not found.' }]);
  assert.equal((await api('DELETE', '/api/userjobs/lab-uj-one/', { cred: 'otherhub' })).status, 404);
  assert.equal((await api('POST', '/api/userjobs/', { cred: 'otherhub', body: userjob('lab-uj-one') })).status, 404);
  assert.equal(await echoThrough(local, 'still there'), 'still there');
});

test('bad requests: missing keys, bad node or port, unknown system or service', async () => {
  const missing = await api('POST', '/api/userjobs/', { body: {} });
  assert.deepEqual([missing.status, missing.body], [400, ['Missing key: service', 'Missing key: hostname', 'Missing key: target_node', 'Missing key: ports']]);
  const noPorts = await api('POST', '/api/userjobs/', { body: { service: 'lab-uj-one', hostname: 'hpc1', target_node: 'n1' } });
  assert.deepEqual([noPorts.status, noPorts.body], [400, ['Missing key: ports']]);
  for (const [extra, what] of [
    [{ target_node: '-oProxyCommand=touch /tmp/pwned' }, 'option-like node'],
    [{ target_node: 'node 1' }, 'node with a space'],
    [{ target_node: 'a:b' }, 'node with a colon'],
    [{ ports: { '8080': '70000' } }, 'node port out of range'],
    [{ ports: { '0': '22' } }, 'service port 0'],
    [{ ports: { '8080': '22; rm -rf /' } }, 'port with shell text'],
    [{ ports: {} }, 'no ports'],
    [{ hostname: 'nosuchsystem' }, 'unknown system'],
    [{ jobid: 'x y' }, 'bad jobid'],
  ] as const) {
    const r = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-one', extra) });
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
    assert.ok(Array.isArray(r.body), what);
  }
  assert.equal((await api('POST', '/api/userjobs/', { body: userjob('no-such-service') })).status, 404);
  assert.equal((await api('GET', '/api/userjobs/no-such-service/')).status, 404);
  assert.equal((await api('DELETE', '/api/userjobs/no-such-service/')).status, 404);
  assert.equal((await fetch(`${manager.url}/api/userjobs/`)).status, 401);
});

test('a killed control master is started again and the forward works again', async () => {
  const local = (await api('GET', '/api/userjobs/lab-uj-one/')).body.local_ports['8080'] as number;
  const pid = masterPid();
  assert.ok(pid, 'the master pid is known');
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => masterPid() !== undefined && masterPid() !== pid, { what: 'a new control master', timeoutMs: 20_000 });
  await waitFor(async () => (await echoThrough(local, 'back')) === 'back', { what: 'the forward through the new master', timeoutMs: 20_000, intervalMs: 300 });
  assert.equal((await api('GET', '/api/userjobs/lab-uj-one/')).body.state, 'running');

  // A forward cancelled behind the manager's back is added again.
  execFileSync('ssh', ['-F', sshConfig, '-S', path.join(controlDir, 'hpc1.sock'), '-O', 'cancel', '-L', `0.0.0.0:${local}:localhost:${echo.port}`, 'tunnel_hpc1']);
  await waitFor(async () => (await echoThrough(local, 'again')) === 'again', { what: 'the forward added again', timeoutMs: 20_000, intervalMs: 300 });
});

test('a restart forwards every saved userjob again (graceful stop and crash)', async () => {
  const local = (await api('GET', '/api/userjobs/lab-uj-one/')).body.local_ports['8080'] as number;
  await manager.close();
  assert.equal(await isListening(local), false, 'a graceful stop ends the forwards');
  manager = await launch();
  assert.equal(await echoThrough(local, 'after restart'), 'after restart');
  assert.equal((await api('GET', '/api/userjobs/lab-uj-one/')).body.state, 'running');

  // A crash leaves the old master running: the next start ends it and forwards anew.
  const oldPid = masterPid();
  await manager.crash();
  assert.equal(await echoThrough(local, 'orphan'), 'orphan');
  manager = await launch();
  assert.notEqual(masterPid(), oldPid);
  await waitFor(async () => !alive(oldPid!), { what: `the old master (pid ${oldPid}) ended`, timeoutMs: 5000 });
  assert.equal(await echoThrough(local, 'after crash'), 'after crash');
  // Logged once every userjob has been reconciled, which may be just after this forward works.
  const restarted = manager;
  await waitFor(async () => /userjobs restored/.test(restarted.output()), { what: 'the "userjobs restored" line', timeoutMs: 10_000 });
});

test('an unreachable system answers a clear error in bounded time and leaves nothing', async () => {
  await startService('lab-uj-down', 'cccc0001');
  const r = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-down', { hostname: 'down' }) });
  assert.equal(r.status, 500, JSON.stringify(r.body));
  assert.equal(r.body.error, 'Could not create connection to tunnel_down');
  assert.ok(typeof r.body.detailed_error === 'string' && r.body.detailed_error.length > 0);
  assert.ok(r.ms < 15_000, `answered in ${r.ms} ms`);
  assert.equal(await readService('lab-uj-down'), undefined);
  assert.equal((await api('GET', '/api/userjobs/lab-uj-down/')).status, 404);

  // A login node that accepts the connection but never answers: ConnectTimeout (3 s here) bounds it.
  const hang = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-down', { hostname: 'silent' }) });
  assert.equal(hang.status, 500, JSON.stringify(hang.body));
  assert.equal(hang.body.error, 'Could not create connection to tunnel_silent');
  assert.ok(hang.ms < 12_000, `answered in ${hang.ms} ms`);
  assert.equal(await readService('lab-uj-down'), undefined);
});

test('DELETE ends the forward and removes the Service', async () => {
  const local = (await api('GET', '/api/userjobs/lab-uj-one/')).body.local_ports['8080'] as number;
  const del = await api('DELETE', '/api/userjobs/lab-uj-one/');
  assert.equal(del.status, 204);
  // At once, before the watch has delivered the delete: the userjob is gone for the caller.
  assert.equal((await api('GET', '/api/userjobs/lab-uj-one/')).status, 404, 'a GET right after the DELETE');
  assert.ok(!(await api('GET', '/api/userjobs/')).body.some((u: { service: string }) => u.service === 'lab-uj-one'), 'nor listed');
  assert.equal(await isListening(local), false, 'the local port is closed');
  await waitFor(async () => (await readService('lab-uj-one')) === undefined, { what: 'the Service gone', timeoutMs: 10_000 });
  assert.equal((await api('GET', '/api/userjobs/lab-uj-one/')).status, 404);
  assert.equal((await api('DELETE', '/api/userjobs/lab-uj-one/')).status, 404);
});

test('stopping the user service ends its userjob', async () => {
  await startService('lab-uj-two', 'bbbb0001');
  const r = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-two', { ports: { '8888': String(echo.port), '9999': String(echo.port) } }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const locals = Object.values(r.body.local_ports) as number[];
  assert.equal(locals.length, 2);
  for (const p of locals) assert.equal(await echoThrough(p, 'x'), 'x');
  assert.equal((await api('DELETE', '/api/services/lab-uj-two/')).status, 204);
  await waitFor(async () => !(await isListening(locals[0]!)) && !(await isListening(locals[1]!)), { what: 'the forwards closed', timeoutMs: 15_000 });
  await waitFor(async () => (await readService('lab-uj-two')) === undefined, { what: 'the Service gone', timeoutMs: 30_000 });
  assert.equal((await api('GET', '/api/userjobs/lab-uj-two/')).status, 404);
});

test('a userjob whose service vanished while the manager was down is cleaned up at start', async () => {
  await startService('lab-uj-three', 'dddd0001');
  const r = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-three') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const local = r.body.local_ports['8080'] as number;
  await manager.close();
  // The anchor goes while no manager runs; the GC takes the Service with it.
  const anchors = await core.listNamespacedConfigMap({ namespace, labelSelector: 'k8smgr.io/servername=lab-uj-three,k8smgr.io/role=anchor' });
  for (const a of anchors.items) await core.deleteNamespacedConfigMap({ name: a.metadata!.name!, namespace, propagationPolicy: 'Background' });
  manager = await launch();
  assert.equal(await isListening(local), false);
  await waitFor(async () => (await readService('lab-uj-three')) === undefined, { what: 'the orphaned Service gone', timeoutMs: 30_000 });
  assert.equal((await api('GET', '/api/userjobs/lab-uj-three/')).status, 404);
});

test('a saved userjob that cannot be forwarded after a restart is removed after restore_timeout_seconds', async () => {
  await startService('lab-uj-four', 'eeee0001');
  const r = await api('POST', '/api/userjobs/', { body: userjob('lab-uj-four') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await manager.close();
  // The login node is unreachable while the manager starts again.
  const good = readFileSync(sshConfig, 'utf8');
  writeFileSync(sshConfig, good.replace(`Port ${sshd.port}`, `Port ${closedPort}`));
  try {
    manager = await launch();
    const pending = await api('GET', '/api/userjobs/lab-uj-four/');
    assert.equal(pending.status, 200, JSON.stringify(pending.body));
    assert.equal(pending.body.state, 'error', JSON.stringify(pending.body));
    assert.equal(pending.body.details.error, 'Could not create connection to tunnel_hpc1', JSON.stringify(pending.body));
    await waitFor(async () => (await readService('lab-uj-four')) === undefined, { what: 'the userjob removed', timeoutMs: 20_000 });
    const gone = await api('GET', '/api/userjobs/lab-uj-four/');
    assert.equal(gone.status, 404, JSON.stringify(gone.body));
    assert.match(manager.output(), /could not be forwarded for 5 s: removing it/);
  } finally {
    writeFileSync(sshConfig, good);
  }
});
