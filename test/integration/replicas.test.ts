// Three manager processes as the replicas of one site behind HAProxy, on the
// real control plane: exactly one leads (the Lease), its pod carries the
// userjobs leader label and it alone holds the SSH forwards; SIGKILL of the
// leader fails over within the Lease's duration and the new leader forwards
// again (measured); SIGTERM hands over at once; a rolling restart under a hub's
// load fails no request and loses or duplicates no object; SIGKILL of one
// replica under load fails only what that replica held.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { callApi } from '../helpers/api.js';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic } from '../helpers/manager.js';
import { echoThrough, startEchoServer, startSshd, writeClientConfig, type EchoServer, type Sshd } from '../helpers/sshd.js';
import { startLoad, startSite, type Replica, type Site } from '../helpers/replicas.js';
import { replicaOf } from '../../src/kube/identity.js';

const DEPLOYMENT = 'k8smgr-rep';
const PASSWORD = 'pw-replicas-1';
const auth = { authorization: basic('testhub', PASSWORD) };
const fixtures = path.resolve('test/fixtures/services');
const { kc, namespace, kubeconfigPath } = await testNamespace();
const core = kc.makeApiClient(k8s.CoreV1Api);
const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-replicas-'));
const portBase = 43000 + Math.floor(Math.random() * 100) * 20;

let sshd: Sshd;
let echo: EchoServer;
let site: Site;

before(async () => {
  sshd = await startSshd();
  echo = await startEchoServer();
  const sshConfig = writeClientConfig(tmp, sshd, [{ system: 'hpc1', port: sshd.port }]);
  const configPath = (i: number) => {
    const file = path.join(tmp, `config-${i}.json`);
    writeFileSync(file, JSON.stringify({
      services: { descriptions: path.join(fixtures, 'descriptions'), base: path.join(tmp, 'rendered') },
      userhomes: { enabled: false },
      startup: { create_user: { testhub: ['access_to_webservice'] } },
      userjobs: {
        port_range: [portBase, portBase + 19], control_dir: path.join('/tmp', `rep-${process.pid}-${i}`), check_interval_seconds: 2,
        connect_timeout_seconds: 3, command_timeout_seconds: 5,
      },
    }));
    return file;
  };
  for (let i = 0; i < 3; i++) mkdirSync(path.join('/tmp', `rep-${process.pid}-${i}`), { recursive: true, mode: 0o700 });
  site = await startSite({
    kc, kubeconfigPath, namespace, deploymentName: DEPLOYMENT, names: ['rep-a', 'rep-b', 'rep-c'], configPath,
    controlDir: (i) => path.join('/tmp', `rep-${process.pid}-${i}`),
    env: { TESTHUB_USER_PASS: PASSWORD, SSHCONFIGFILE: sshConfig },
  });
});

after(async () => {
  await site?.stop();
  await echo?.close();
  await sshd?.stop();
});

const byName = (name: string): Replica => {
  const r = site.replicas.find((x) => x.name === name);
  assert.ok(r, `replica ${name}`);
  return r;
};

async function health(r: Replica): Promise<{ leading: boolean; holder: string | null }> {
  const res = await fetch(`http://127.0.0.1:${r.port}/api/health/`);
  const body = (await res.json()) as { leader?: { leading: boolean; holder: string | null } };
  assert.ok(body.leader, `leader in /api/health/: ${JSON.stringify(body)}`);
  return body.leader;
}

/** The one leader's name as the Lease (`<name>_<process>`), the replicas' health, the metric and the pod label all say. */
async function leader(timeoutMs: number, not?: string): Promise<string> {
  let last = '';
  return waitFor(async () => {
    const id = await site.holder();
    const holder = replicaOf(id);
    last = `holder ${id}`;
    if (!holder || holder === not) return undefined;
    const alive = site.replicas.filter((r) => r.process && r.process.child.exitCode === null && r.process.child.signalCode === null);
    const leading = [];
    for (const r of alive) if ((await health(r).catch(() => ({ leading: false }))).leading) leading.push(r.name);
    last += `, leading ${leading.join()}`;
    if (leading.length !== 1 || leading[0] !== holder) return undefined;
    const labelled = (await site.labelled()).join();
    last += `, labelled ${labelled}`;
    if (labelled !== holder) return undefined;
    return holder;
  }, { what: 'exactly one leader with the label on its pod', timeoutMs, intervalMs: 100 }).catch((err: Error) => {
    throw new Error(`${err.message} (last seen: ${last})`);
  });
}

const api = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
  callApi(site.balancer.url, method, url, { authorization: auth.authorization, body, headers });

async function startService(name: string, startId: string): Promise<void> {
  const r = await api('POST', '/api/services/', {
    start_id: startId, user_options: { service: 'lab/ok' },
    env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/progress', JUPYTERHUB_API_TOKEN: 't', JUPYTERHUB_USER_ID: 3 },
  }, { uuidcode: name });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

/** The forward as a user's pod reaches it: the Service's EndpointSlice names one ready pod (the leader's), and its targetPort answers there. */
async function forwardAnswers(service: string): Promise<string | undefined> {
  const svc = await core.readNamespacedService({ name: service, namespace });
  const targetPort = Number(svc.spec?.ports?.[0]?.targetPort);
  const slices = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
  const pods = slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).map((e) => e.targetRef?.name ?? ''));
  if (pods.length !== 1) return undefined;
  // Every replica runs on this machine: the pod's address is loopback.
  const answer = await echoThrough(targetPort, `hello ${service}`, 1000).catch(() => '');
  return answer.includes(`hello ${service}`) ? pods[0] : undefined;
}

test('exactly one replica leads: the Lease, /api/health/, k8smgr_leader and the pod label agree', async () => {
  const holder = await leader(30_000);
  const lease = await kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: `${DEPLOYMENT}-leader`, namespace });
  assert.equal(lease.spec?.leaseDurationSeconds, 15);
  assert.match(String((lease.spec?.renewTime as unknown as Date).toISOString?.() ?? lease.spec?.renewTime), /^\d{4}-/);
  for (const r of site.replicas) {
    const metrics = await (await fetch(`http://127.0.0.1:${r.port}/metrics`)).text();
    assert.match(metrics, new RegExp(`k8smgr_leader\\{replica="${r.name}",process="[0-9a-f]{8}"\\} ${r.name === holder ? 1 : 0}`));
  }
  assert.deepEqual(await site.labelled(), [holder]);
});

test('SIGKILL of the leader: another leads, takes the label and forwards again (measured)', async () => {
  await startService('rep-uj', 'rj000001');
  const created = await api('POST', '/api/userjobs/', { service: 'rep-uj', hostname: 'hpc1', target_node: '127.0.0.1', ports: { '8080': String(echo.port) } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.state, 'running');
  const first = await leader(10_000);
  assert.equal(await waitFor(() => forwardAnswers('rep-uj'), { what: 'the forward through the leader', timeoutMs: 15_000 }), first);
  // Every replica answers the same for it.
  for (const r of site.replicas) {
    const res = await fetch(`http://127.0.0.1:${r.port}/api/userjobs/rep-uj/`, { headers: auth });
    assert.equal(((await res.json()) as { state: string }).state, 'running', r.name);
  }

  const victim = byName(first);
  const t0 = Date.now();
  await site.kill(victim);
  const next = await leader(25_000, first);
  const tLeader = (Date.now() - t0) / 1000;
  assert.equal(await waitFor(() => forwardAnswers('rep-uj'), { what: 'the forward through the new leader', timeoutMs: 15_000, intervalMs: 100 }), next);
  const tForward = (Date.now() - t0) / 1000;
  console.log(`# failover after SIGKILL of ${first}: ${next} leads after ${tLeader.toFixed(1)} s, forwards answer through the Service after ${tForward.toFixed(1)} s`);
  assert.ok(tLeader < 20, `new leader after ${tLeader} s`);
  assert.ok(tForward < 22, `forwards after ${tForward} s (goal < 20 s)`);
  await site.start(victim);
  await site.balancer.waitForBackend(site.replicas.indexOf(victim), 'UP', 10_000);
});

test('SIGTERM of the leader releases the Lease: another leads within seconds', async () => {
  const first = await leader(10_000);
  const victim = byName(first);
  const t0 = Date.now();
  assert.equal(await site.term(victim), 0);
  const next = await leader(10_000, first);
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(await waitFor(() => forwardAnswers('rep-uj'), { what: 'the forward through the new leader', timeoutMs: 15_000, intervalMs: 100 }), next);
  const tForward = (Date.now() - t0) / 1000;
  console.log(`# hand-over after SIGTERM of ${first}: ${next} leads after ${seconds.toFixed(1)} s, forwards after ${tForward.toFixed(1)} s`);
  assert.ok(seconds < 5, `new leader after ${seconds} s`);
  await site.start(victim);
  await site.balancer.waitForBackend(site.replicas.indexOf(victim), 'UP', 10_000);
});

async function objectsOf(servername: string): Promise<number> {
  const list = await apps.listNamespacedDeployment({ namespace, labelSelector: `k8smgr.io/servername=${servername}` });
  return list.items.filter((d) => !d.metadata?.deletionTimestamp).length;
}

async function checkObjects(live: Set<string>, stopped: Set<string>): Promise<void> {
  await waitFor(async () => {
    for (const name of live) if ((await objectsOf(name)) !== 1) return undefined;
    for (const name of stopped) if ((await objectsOf(name)) !== 0) return undefined;
    return true;
  }, { what: `one Deployment for each of ${live.size} live services, none for ${stopped.size} stopped`, timeoutMs: 30_000 });
}

test('rolling restart under a hub\'s load (33 polls/s, a start or stop every 1.5 s): no failed request, no lost or doubled object', async () => {
  const initial = Array.from({ length: 10 }, (_, i) => `rep-roll-${i}`);
  for (const [i, name] of initial.entries()) await startService(name, `rr${String(i).padStart(6, '0')}`);
  const load = startLoad({ url: site.balancer.url, credential: 'testhub', password: PASSWORD, prefix: 'rep-roll', initial, pollsPerSecond: 33, churnMs: 1500 });
  const t0 = Date.now();
  for (const r of site.replicas) {
    assert.equal(await site.term(r), 0, `${r.name} exits 0 on SIGTERM`);
    await site.start(r);
    await site.balancer.waitForBackend(site.replicas.indexOf(r), 'UP', 10_000);
  }
  const restartSeconds = (Date.now() - t0) / 1000;
  await new Promise((res) => setTimeout(res, 2000));
  // A quick restart is over before the load has done much: keep it up until it has (or fail on a load that does nothing).
  await waitFor(async () => load.counts.polls > 300 && load.counts.starts >= 4, { what: 'at least 300 polls and 4 starts under way', timeoutMs: 30_000 })
    .catch((err: Error) => assert.fail(`${err.message}: ${load.counts.polls} polls, ${load.counts.starts} starts`));
  const c = await load.stop();
  console.log(`# rolling restart of 3 replicas in ${restartSeconds.toFixed(1)} s; load over ${((Date.now() - t0) / 1000).toFixed(1)} s: ${c.polls} polls (${c.pollFailures} failed), ${c.starts} starts and ${c.stops} stops (${c.writeFailures} failed)${c.failures.length ? `\n#   ${c.failures.join('\n#   ')}` : ''}`);
  assert.equal(c.pollFailures + c.writeFailures, 0, c.failures.join('\n'));
  assert.ok(c.polls > 300 && c.starts >= 4, `enough load: ${c.polls} polls, ${c.starts} starts`);
  await leader(20_000);
  await checkObjects(c.live, c.stopped);
});

test('SIGKILL of one replica under the same load: only what it held fails', async () => {
  const initial = Array.from({ length: 10 }, (_, i) => `rep-roll-${i}`);
  const load = startLoad({ url: site.balancer.url, credential: 'testhub', password: PASSWORD, prefix: 'rep-kill', initial, pollsPerSecond: 33, churnMs: 1500 });
  await new Promise((res) => setTimeout(res, 3000));
  const victim = site.replicas[1] as Replica;
  await site.kill(victim);
  await new Promise((res) => setTimeout(res, 5000));
  await site.start(victim);
  await site.balancer.waitForBackend(1, 'UP', 10_000);
  await new Promise((res) => setTimeout(res, 2000));
  const c = await load.stop();
  console.log(`# SIGKILL of ${victim.name} under load: ${c.polls} polls (${c.pollFailures} failed), ${c.starts} starts and ${c.stops} stops (${c.writeFailures} failed)${c.failures.length ? `\n#   ${c.failures.join('\n#   ')}` : ''}`);
  // At most the requests in flight on that replica's connections (a hub's client retries them with the next poll).
  assert.ok(c.pollFailures + c.writeFailures <= 5, c.failures.join('\n'));
  await leader(25_000);
  await checkObjects(new Set([...c.live].filter((n) => !c.failures.some((f) => f.includes(` ${n}:`)))), c.stopped);
});
