// Manager processes that share a name, on the real control plane: `k8smgr
// serve` without POD_NAME on one host, so every process is "<host name>", as
// two units of one VM or a pod name reused while the old process still runs.
// Short Lease timings (LEASE_DURATION_SECONDS=4, renew deadline 3 s, retry
// 0.5 s). What must hold:
// - one leads at a time; the Lease names the process, health, metrics and the
//   admin page show the name and the process apart;
// - SIGKILL of the leader: the other leads within the Lease's duration plus
//   one (jittered) retry;
// - the leader frozen (SIGSTOP), a new process of the same name started: it
//   waits for the Lease to expire instead of taking "its own" Lease; the
//   frozen one resumed (SIGCONT) stops leading before any leader work;
// - a live process of the same name never marks another's unfinished start
//   interrupted; once that process is gone (presence record expired), its
//   start is marked; a creator that has no presence record at all at once.
// A watcher samples every process's /api/health/ every 100 ms throughout and
// fails the test on any proven overlap of two leaders.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic, startManager, type ManagerProcess } from '../helpers/manager.js';
import { anchorName } from '../../src/services/anchor.js';

const DEPLOYMENT = 'k8smgr-same';
const DURATION_MS = 4000;
const RETRY_MS = 500;
const TIMINGS = { LEASE_DURATION_SECONDS: String(DURATION_MS / 1000), LEASE_RENEW_DEADLINE_SECONDS: '3', LEASE_RETRY_PERIOD_SECONDS: String(RETRY_MS / 1000) };
/** A candidate's retry is jittered up to 2.2 periods (client-go); the figures below allow that plus the time to notice. */
const FAILOVER_BOUND_MS = DURATION_MS + 2.2 * RETRY_MS + 1000;
const PASSWORD = 'pw-same-name-1';
const auth = basic('testhub', PASSWORD);
const HOST = hostname();
const fixtures = path.resolve('test/fixtures/services');
const { kc, namespace, kubeconfigPath } = await testNamespace();
const coord = kc.makeApiClient(k8s.CoordinationV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-same-name-'));
const configPath = path.join(tmp, 'config.json');
writeFileSync(configPath, JSON.stringify({
  services: { descriptions: path.join(fixtures, 'descriptions'), base: path.join(tmp, 'rendered'), creation_timeout_seconds: 600 },
  userhomes: { enabled: false },
  startup: { create_user: { testhub: ['access_to_webservice', 'access_to_admin'] } },
}));

interface Proc {
  label: string;
  m: ManagerProcess;
  boot: string;
  stopped?: boolean;
}

const procs: Proc[] = [];

interface Leader { replica: string; process: string; leading: boolean; holder: string | null; since?: string }

async function health(p: Proc, timeoutMs = 1000): Promise<Leader> {
  const res = await fetch(`${p.m.url}/api/health/`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json()) as { leader?: Leader };
  assert.ok(body.leader, `leader in /api/health/: ${JSON.stringify(body)}`);
  return body.leader;
}

/** A process started without POD_NAME (the host's name), with the short timings. */
async function spawn(label: string): Promise<Proc> {
  const m = await startManager({ kubeconfigPath, namespace, configPath, env: { TESTHUB_USER_PASS: PASSWORD, DEPLOYMENT_NAME: DEPLOYMENT, ...TIMINGS } });
  const p: Proc = { label, m, boot: '' };
  p.boot = (await health(p)).process;
  procs.push(p);
  return p;
}

const alive = () => procs.filter((p) => p.m.child.exitCode === null && p.m.child.signalCode === null);

/**
 * Samples every live process's /api/health/ every 100 ms. An overlap is proven
 * when one process answered "leading" within a window in which another one
 * had been leading without a break (from its `since` to the moment we asked it).
 */
class LeaderWatch {
  readonly samples: Array<{ label: string; send: number; recv: number; since: number }> = [];
  #timer: NodeJS.Timeout | undefined;

  start(): void {
    this.#timer = setInterval(() => {
      for (const p of alive()) {
        if (p.stopped) continue;
        const send = Date.now();
        void health(p, 400).then((h) => {
          if (h.leading && h.since) this.samples.push({ label: p.label, send, recv: Date.now(), since: Date.parse(h.since) });
        }, () => undefined);
      }
    }, 100);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  overlaps(): string[] {
    const found: string[] = [];
    for (const a of this.samples) {
      for (const b of this.samples) {
        if (a.label !== b.label && b.since <= a.send && a.recv <= b.send) {
          found.push(`${a.label} answered leading in [${a.send}, ${a.recv}] while ${b.label} led from ${b.since} to at least ${b.send}`);
        }
      }
    }
    return found;
  }
}

const watch = new LeaderWatch();

async function leaseHolder(): Promise<string> {
  const lease = await coord.readNamespacedLease({ name: `${DEPLOYMENT}-leader`, namespace }).catch(() => undefined);
  return lease?.spec?.holderIdentity ?? '';
}

/** The one process that leads, as the Lease and every live process's health agree. */
async function leader(timeoutMs: number, intervalMs = 50): Promise<Proc> {
  let last = '';
  return waitFor(async () => {
    const leading: Proc[] = [];
    for (const p of alive()) if (!p.stopped && (await health(p, 500).catch(() => undefined))?.leading) leading.push(p);
    const holder = await leaseHolder();
    last = `leading ${leading.map((p) => p.label).join()}; Lease holder ${holder}`;
    if (leading.length !== 1) return undefined;
    const one = leading[0] as Proc;
    return holder === `${HOST}_${one.boot}` ? one : undefined;
  }, { what: 'exactly one leader, the Lease\'s holder', timeoutMs, intervalMs }).catch((err: Error) => {
    throw new Error(`${err.message} (last seen: ${last})`);
  });
}

async function poll(p: Proc, servername: string): Promise<{ status: number; state?: string; error?: string }> {
  const res = await fetch(`${p.m.url}/api/services/${servername}/`, { headers: { authorization: auth } });
  const body = (await res.json()) as { state?: string; details?: { error?: string } };
  return { status: res.status, ...(body.state ? { state: body.state } : {}), ...(body.details?.error ? { error: body.details.error } : {}) };
}

/** An anchor as a start leaves it while its objects are being created, by the process `createdBy`. */
async function halfMadeStart(servername: string, createdBy: string): Promise<void> {
  const record = { servername, start_id: `${servername.slice(-4)}0001`.slice(-8), user_options: { service: 'lab/ok' }, jhub_user_id: 1, jhub_credential: 'testhub', start_date: new Date().toISOString(), stop_pending: false, objects: [] };
  await objects.create({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: anchorName('testhub', servername), namespace,
      labels: { 'app.kubernetes.io/managed-by': 'k8smgr', 'k8smgr.io/instance': DEPLOYMENT, 'k8smgr.io/role': 'anchor', 'k8smgr.io/servername': servername, 'k8smgr.io/credential': 'testhub' },
      annotations: { 'k8smgr.io/phase': 'creating', 'k8smgr.io/created-by': createdBy, 'k8smgr.io/creating-until': new Date(Date.now() + 600_000).toISOString() },
    },
    data: { record: JSON.stringify(record) },
  } as k8s.KubernetesObject);
}

before(async () => {
  await spawn('p1');
  await spawn('p2');
  watch.start();
});

after(async () => {
  watch.stop();
  for (const p of procs) {
    if (p.stopped) p.m.child.kill('SIGCONT');
    await p.m.kill('SIGTERM');
  }
});

test('two processes of one name (no POD_NAME, one host): one leads; the Lease, health, metrics and the admin page tell them apart', async () => {
  const [p1, p2] = procs as [Proc, Proc];
  assert.notEqual(p1.boot, p2.boot);
  const first = await leader(15_000);
  const other = first === p1 ? p2 : p1;
  for (const p of [p1, p2]) {
    const h = await health(p);
    assert.equal(h.replica, HOST, 'the name is the host\'s');
    assert.match(h.process, /^[0-9a-f]{8}$/);
    assert.equal(h.holder, `${HOST}_${first.boot}`);
    const metrics = await (await fetch(`${p.m.url}/metrics`)).text();
    assert.ok(metrics.includes(`k8smgr_leader{replica="${HOST}",process="${p.boot}"} ${p === first ? 1 : 0}`), metrics.split('\n').filter((l) => l.startsWith('k8smgr_leader')).join('\n'));
  }
  // The operators' page lists both processes of the name apart, and which one holds the Lease.
  const res = await fetch(`${other.m.url}/admin/api/replicas`, { headers: { authorization: auth } });
  assert.equal(res.status, 200);
  const page = (await res.json()) as { replicas: Array<{ name: string; process?: string; self?: boolean; holdsLease?: boolean; live?: boolean }>; leaseHolder: string };
  const listed = page.replicas.map((r) => ({ name: r.name, process: r.process, self: r.self, holdsLease: r.holdsLease, live: r.live }))
    .sort((a, b) => (a.process ?? '').localeCompare(b.process ?? ''));
  assert.deepEqual(listed, [p1, p2].sort((a, b) => a.boot.localeCompare(b.boot)).map((p) => ({ name: HOST, process: p.boot, self: p === other, holdsLease: p === first, live: true })));
  assert.equal(page.leaseHolder, `${HOST}_${first.boot}`);
  // For a few retry periods: still the same one, and only it ever said it leads.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await leader(1000), first);
  assert.match(first.m.output(), /leading: this process holds the Lease/);
  assert.doesNotMatch(other.m.output(), /leading: this process holds the Lease/);
  assert.ok(watch.samples.length >= 20, `the watcher heard the leader (${watch.samples.length} samples)`);
  assert.deepEqual(watch.overlaps(), []);
});

test('SIGKILL of the leader: the other process of the name leads within the Lease\'s duration plus one retry', async () => {
  const first = await leader(5000);
  const t0 = Date.now();
  await first.m.kill('SIGKILL');
  const next = await leader(FAILOVER_BOUND_MS + 5000);
  const ms = Date.now() - t0;
  console.log(`# SIGKILL of the leader (${first.label}) -> ${next.label} leads after ${(ms / 1000).toFixed(2)} s (duration ${DURATION_MS / 1000} s, retry ${RETRY_MS / 1000} s)`);
  assert.ok(ms <= FAILOVER_BOUND_MS, `new leader after ${ms} ms (bound ${FAILOVER_BOUND_MS} ms)`);
  assert.ok(ms >= DURATION_MS - RETRY_MS - 300, `not before the killed one's Lease expired: ${ms} ms`);
  assert.deepEqual(watch.overlaps(), []);
});

test('the leader frozen (SIGSTOP), a new process of its name started: it waits for the Lease to expire; the frozen one resumed does not lead', async () => {
  const frozen = await leader(5000);
  const restarted = await spawn('p3');
  assert.equal((await health(restarted)).leading, false, 'the Lease is held by the other process of its name');
  const t0 = Date.now();
  frozen.stopped = true;
  frozen.m.child.kill('SIGSTOP');
  // Not "its own" Lease: nobody can tell the frozen process is gone before the Lease expires.
  while (Date.now() - t0 < DURATION_MS / 2) {
    assert.equal((await health(restarted)).leading, false, `${Date.now() - t0} ms after SIGSTOP`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const next = await leader(FAILOVER_BOUND_MS + 5000);
  const ms = Date.now() - t0;
  assert.equal(next, restarted);
  console.log(`# SIGSTOP of the leader (${frozen.label}) -> ${next.label}, a new process of the same name, leads after ${(ms / 1000).toFixed(2)} s`);
  assert.ok(ms <= FAILOVER_BOUND_MS, `new leader after ${ms} ms (bound ${FAILOVER_BOUND_MS} ms)`);

  // Resume the frozen one a while after it lost the Lease: its first answer is "not leading".
  await new Promise((r) => setTimeout(r, 1000));
  const before = frozen.m.output().length;
  frozen.m.child.kill('SIGCONT');
  frozen.stopped = false;
  const first = await health(frozen, 5000);
  assert.equal(first.leading, false, `first answer after SIGCONT: ${JSON.stringify(first)}`);
  assert.equal(first.holder === null || first.holder === `${HOST}_${restarted.boot}`, true, `holder ${first.holder}`);
  // A few retry periods later: the new process still leads, the Lease never went back.
  await new Promise((r) => setTimeout(r, 4 * RETRY_MS));
  assert.equal(await leader(2000), restarted);
  const resumed = frozen.m.output().slice(before);
  const lines = resumed.split('\n').filter((l) => /leading|leader label|presence renewed late/.test(l));
  assert.match(lines.find((l) => /leading|leader label/.test(l)) ?? '', /no longer leading/, `after SIGCONT, first: ${lines.join('\n')}`);
  assert.doesNotMatch(resumed, /leading: this process holds the Lease/);
  assert.match(resumed, /presence renewed late/);
  assert.deepEqual(watch.overlaps(), []);

  // The page: the two live processes of the name, and the killed one's record, no longer live.
  const res = await fetch(`${restarted.m.url}/admin/api/replicas`, { headers: { authorization: auth } });
  const page = (await res.json()) as { replicas: Array<{ name: string; process?: string; live?: boolean; holdsLease?: boolean }> };
  const byProcess = new Map(page.replicas.map((r) => [r.process, r]));
  assert.deepEqual(byProcess.get(restarted.boot), { ...byProcess.get(restarted.boot), name: HOST, live: true, holdsLease: true });
  assert.deepEqual(byProcess.get(frozen.boot), { ...byProcess.get(frozen.boot), name: HOST, live: true, holdsLease: false });
  const killed = procs.find((p) => p.label !== frozen.label && p.label !== restarted.label) as Proc;
  assert.equal(byProcess.get(killed.boot)?.live, false, `the killed process's record: ${JSON.stringify(page.replicas)}`);
});

test('a live process of the name never marks another\'s unfinished start; once that one is gone, its start is interrupted', async () => {
  const creator = await leader(5000);
  const observer = alive().find((p) => p !== creator) as Proc;
  // One start being created by the live leader; one by a process that has no presence record at all.
  await halfMadeStart('same-live', `${HOST}_${creator.boot}`);
  await halfMadeStart('same-none', `${HOST}_00000000`);
  const tNone = Date.now();
  await waitFor(async () => (await poll(observer, 'same-none')).state === 'failed', { what: 'the start of a process without a record interrupted', timeoutMs: 10_000, intervalMs: 100 });
  console.log(`# a start whose creator has no presence record: interrupted after ${((Date.now() - tNone) / 1000).toFixed(1)} s`);
  assert.equal((await poll(creator, 'same-none')).error, 'Start interrupted, please start again');
  // The creator lives (and another process of its name polls, sweeps and may lead): it stays starting.
  const until = Date.now() + DURATION_MS + 2000;
  while (Date.now() < until) {
    for (const p of [creator, observer]) assert.equal((await poll(p, 'same-live')).state, 'starting', `${p.label}: the creator is alive`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const t0 = Date.now();
  await creator.m.kill('SIGKILL');
  await waitFor(async () => (await poll(observer, 'same-live')).state === 'failed', { what: 'the dead creator\'s start interrupted', timeoutMs: 20_000, intervalMs: 100 });
  const ms = Date.now() - t0;
  console.log(`# SIGKILL of a start's creator -> another process of its name marks it interrupted after ${(ms / 1000).toFixed(1)} s (presence duration ${DURATION_MS / 1000} s)`);
  assert.equal((await poll(observer, 'same-live')).error, 'Start interrupted, please start again');
  assert.ok(ms >= DURATION_MS - 2000, `not before its presence record could expire: ${ms} ms`);
  assert.match(observer.m.output(), /start interrupted: marked failed/);
  for (const name of ['same-live', 'same-none']) {
    assert.equal((await fetch(`${observer.m.url}/api/services/${name}/`, { method: 'DELETE', headers: { authorization: auth } })).status, 204);
  }
  assert.deepEqual(watch.overlaps(), []);
});
