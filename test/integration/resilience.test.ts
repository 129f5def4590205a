// Watches survive the apiserver going away: on a control plane of its own, the
// apiserver is killed under a running manager and started again. Meanwhile
// polls answer from the last cache; afterwards the caches relist, readiness
// returns, and changes made after the restart are seen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '../helpers/cluster.js';
import { startManager, basic, type ManagerProcess } from '../helpers/manager.js';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'k8smgr-resilience-'));
const env = { ...process.env, K8SMGR_TESTENV_DIR: dir };
const cluster = (cmd: string) => run(process.execPath, ['--import', 'tsx', 'testenv/cluster.ts', cmd], { env, timeout: 300_000 });
const namespace = 'resilience';
let manager: ManagerProcess | undefined;
let kc: k8s.KubeConfig;

interface State { server: string; pids: Record<string, number> }
const state = () => JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as State;

before(async () => {
  await cluster('up').catch((err: Error & { stdout?: string }) => {
    throw new Error(`a second control plane for this test could not start: ${err.message}\n${err.stdout ?? ''}`);
  });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(path.join(dir, 'kubeconfig'));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor(async () => core.readNamespacedServiceAccount({ name: 'default', namespace }).then(() => true, () => false), { what: 'the default ServiceAccount' });
});
after(async () => {
  await manager?.kill('SIGKILL');
  await cluster('down');
});

async function apiserverReady(): Promise<boolean> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return core.listNamespace().then(() => true, () => false);
}

test('the apiserver restarts under a running manager: polls keep answering, caches relist, new changes are seen', async () => {
  const configPath = path.join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions: path.resolve('test/fixtures/services/descriptions'), base: path.join(dir, 'rendered') },
    userhomes: { enabled: false },
    startup: { create_user: { testhub: ['access_to_webservice'] } },
  }));
  const running = await startManager({ kubeconfigPath: path.join(dir, 'kubeconfig'), namespace, configPath, env: { TESTHUB_USER_PASS: 'pw-res-123' } });
  manager = running;
  const url = running.url;
  const headers = { authorization: basic('testhub', 'pw-res-123'), 'content-type': 'application/json' };
  const start = (servername: string, startId: string) => fetch(`${url}/api/services/`, {
    method: 'POST', headers: { ...headers, uuidcode: servername },
    body: JSON.stringify({ start_id: startId, user_options: { service: 'lab/ok' }, env: { JUPYTERHUB_STATUS_URL: 'x', JUPYTERHUB_API_TOKEN: 'y', JUPYTERHUB_USER_ID: 1 } }),
  });
  const poll = async (servername: string) => {
    const r = await fetch(`${url}/api/services/${servername}/`, { headers });
    return { status: r.status, body: await r.json() as { running: boolean; state: string } };
  };
  assert.equal((await start('before', 'res00001')).status, 201);
  await waitFor(async () => (await poll('before')).body.state === 'running', { what: 'the first service running', timeoutMs: 60_000 });

  // Kill the apiserver; remember how it was started.
  const pid = state().pids['kube-apiserver']!;
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => !(await apiserverReady()), { what: 'the apiserver to be gone', timeoutMs: 10_000 });

  // Down: polls answer from the last cache.
  const during = await poll('before');
  assert.deepEqual([during.status, during.body.running], [200, true]);
  await new Promise((r) => setTimeout(r, 3000));

  // Back with the same flags (and recorded, so `down` stops it).
  const logFd = openSync(path.join(dir, 'logs', 'kube-apiserver-restarted.log'), 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', logFd, logFd] });
  child.unref();
  const saved = state();
  saved.pids['kube-apiserver'] = child.pid!;
  writeFileSync(path.join(dir, 'state.json'), JSON.stringify(saved, null, 2));
  await waitFor(apiserverReady, { what: 'the apiserver back', timeoutMs: 60_000 });

  // The manager relisted and is ready again; its metrics count the restarts.
  await waitFor(async () => (await fetch(`${url}/api/ready/`)).status === 200, { what: 'the manager ready again', timeoutMs: 60_000 });
  const metrics = await fetch(`${url}/metrics`).then((r) => r.text());
  // Counted as faults (relists), by cache: the watches broke, they did not end routinely.
  const ends = [...metrics.matchAll(/k8smgr_watch_restarts_total\{cache="([^"]+)",kind="\w+",reason="(\w+)"\} (\d+)/g)];
  const relisted = new Set(ends.filter((m) => m[2] !== 'routine' && Number(m[3]) > 0).map((m) => m[1]));
  assert.ok(relisted.size >= 3, `caches relisted: ${[...relisted].join(', ')}`);
  // Each cache warns when its faults begin (not at every retry) and says when it has listed again
  // (readiness stayed 200 through the short outage, so wait for the lists: backoff is at most 10 s).
  const recovered = () => running.output().split('\n').filter((l) => /INFO cache listed again after \d+ failed attempts? over \d+ s/.test(l)).length;
  const faulted = ends.filter((m) => m[2] === 'error' && Number(m[3]) > 0).length;
  await waitFor(async () => recovered() >= faulted, { what: 'every failed cache to list again', timeoutMs: 30_000 })
    .catch((err: Error) => assert.fail(`${err.message}:\n${running.output()}`));
  const warned = running.output().split('\n').filter((l) => /WARNING watch failed, cache relisted/.test(l));
  assert.ok(warned.length >= 3, running.output());
  assert.ok(warned.length <= 2 * faulted, `one warning per cache and outage, not per retry:\n${warned.join('\n')}`);
  const ready = (await (await fetch(`${url}/api/ready/`)).json()) as { caches: Array<{ name: string; synced: boolean; restarts: number }> };
  assert.ok(ready.caches.some((c) => c.name === 'credentials Secret' && c.restarts > 0), JSON.stringify(ready.caches));

  // Changes after the restart reach the caches: a new service runs, the old one stops.
  assert.equal((await start('after', 'res00002')).status, 201);
  await waitFor(async () => (await poll('after')).body.state === 'running', { what: 'a service started after the restart to run', timeoutMs: 60_000 });
  assert.equal((await fetch(`${url}/api/services/before/`, { method: 'DELETE', headers })).status, 204);
  await waitFor(async () => (await poll('before')).status === 404, { what: 'the stopped service gone from the cache', timeoutMs: 30_000 });
});
