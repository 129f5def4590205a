// A namespace shared with other workloads costs the manager nothing: 50,000
// pod events of pods that are not the manager's (created straight through the
// API; events may name pods that do not exist) grow the RSS of the production
// build by less than 5 MB, and polls answer as before: a running service
// runs, a failed one shows its own events and none of the others'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic } from '../helpers/manager.js';
import { buildManager, startBenchManager, type BenchManager } from '../../bench/lib/manager.js';
import { pool } from '../../bench/lib/populate.js';
import { runLoad } from '../../bench/lib/load.js';
import { KubeGateway, type KubeObject } from '../../src/kube/gateway.js';

const FOREIGN_EVENTS = Number(process.env.K8SMGR_TEST_FOREIGN_EVENTS ?? 50_000);
const { kc, namespace, kubeconfigPath } = await testNamespace();
const auth = basic('testhub', 'pw-events-123');

interface Poll { status: number; body: { running: boolean; state: string; details: { error: string; detailed_error: string } } }

test(`${FOREIGN_EVENTS} foreign pod events: RSS grows < 5 MB, polls stay right`, { timeout: 30 * 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'k8smgr-events-'));
  const configPath = path.join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions: path.resolve('test/fixtures/services/descriptions'), base: path.join(dir, 'rendered') },
    userhomes: { enabled: false },
    startup: { create_user: { testhub: ['access_to_webservice'] } },
  }));
  await buildManager('bundle');
  const m: BenchManager = await startBenchManager({ kubeconfigPath, namespace, configPath, logFile: path.join(dir, 'manager.log'), env: { TESTHUB_USER_PASS: 'pw-events-123' } });
  t.after(() => m.stop());
  const call = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${m.url}${p}`, { method, headers: { authorization: auth, 'content-type': 'application/json', ...headers }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, body: (await r.json().catch(() => ({}))) as Poll['body'] };
  };
  const start = (servername: string, service: string) =>
    call('POST', '/api/services/', { start_id: 'ev000001', user_options: { service }, env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/progress', JUPYTERHUB_API_TOKEN: 't', JUPYTERHUB_USER_ID: 7 } }, { uuidcode: servername });
  const poll = (servername: string) => call('GET', `/api/services/${servername}/`) as Promise<Poll>;
  type CacheReport = { name: string; objects: number | null; held: number; resource_version: string | null };
  const readiness = async () => ((await (await fetch(`${m.url}/api/ready/`)).json()) as { caches: CacheReport[] }).caches;

  assert.equal((await start('ev-ok', 'lab/ok')).status, 201);
  assert.equal((await start('ev-fail', 'lab/fail')).status, 201);
  await waitFor(async () => (await poll('ev-ok')).body.state === 'running', { what: 'ev-ok running', timeoutMs: 120_000 });
  const failed = await waitFor(async () => {
    const p = await poll('ev-fail');
    return p.body.state === 'failed' && /BackOff/.test(p.body.details.detailed_error) ? p : false;
  }, { what: 'ev-fail failed with its BackOff event', timeoutMs: 120_000 });

  // Settle: a poll load (buffers, JIT, the young generation grown), then quiet.
  const paths = ['/api/services/ev-ok/', '/api/services/ev-fail/'];
  await runLoad({ url: m.url, paths, headers: { authorization: auth }, connections: 4, durationSeconds: 10, rate: 200 });
  await sleep(5000);
  // Both readings after a full GC: what the manager keeps, not the garbage of the moment
  // (a CI run saw the transient share alone move the figure by several MB).
  const settledRssMiB = async () => {
    await m.memoryUsage();
    await sleep(500);
    return m.rss().rssKiB / 1024;
  };
  const before = await settledRssMiB();
  const eventsBefore = (await readiness()).find((c) => c.name === 'pod events')!;
  assert.ok(eventsBefore.objects! > 0, 'the failed pod\'s events are cached');

  // The foreign workload's events, straight through the API.
  const gateway = new KubeGateway(kc, { fieldManager: 'k8smgr-test' });
  const now = new Date().toISOString();
  const event = (i: number): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `foreign-${i}`, namespace },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: `foreign-pod-${i % 2000}`, namespace },
    reason: i % 7 ? 'Pulled' : 'BackOff',
    message: `foreign workload, event ${i}: Successfully pulled image "registry.example.org/some/other-workload:1.${i % 50}" in 1.2s`,
    type: i % 7 ? 'Normal' : 'Warning',
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: 'kubelet', host: 'elsewhere' },
  });
  const t0 = Date.now();
  let failures = 0;
  await pool(Array.from({ length: FOREIGN_EVENTS }, (_, i) => i), 48, async (i) => {
    try {
      await gateway.create(event(i));
    } catch {
      failures++;
    }
  });
  const createSeconds = (Date.now() - t0) / 1000;
  assert.ok(failures < FOREIGN_EVENTS / 1000, `${failures} events could not be created`);

  // One more event, of the running service's pod: once the events cache has seen its
  // resourceVersion it has read every event before it; and it keeps this one.
  const podName = (await gateway.list<KubeObject>('v1', 'Pod', namespace, 'k8smgr.io/servername=ev-ok'))[0]?.metadata.name;
  assert.ok(podName);
  const sentinel = await gateway.create<KubeObject>({
    ...event(-1),
    metadata: { name: 'sentinel', namespace },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: podName, namespace },
    reason: 'Sentinel', message: 'an event of a managed pod after the foreign ones',
  });
  assert.ok(sentinel.created);
  const sentinelVersion = BigInt(sentinel.object.metadata.resourceVersion ?? '0');
  const eventsCache = await waitFor(async () => {
    const c = (await readiness()).find((x) => x.name === 'pod events');
    return c && BigInt(c.resource_version ?? '0') >= sentinelVersion ? c : false;
  }, { what: 'the events cache past the sentinel event', timeoutMs: 300_000, intervalMs: 1000 });
  await sleep(5000);
  const after = await settledRssMiB();
  const memory = await m.memoryUsage();
  const grownMB = ((after - before) * 1048576) / 1e6;
  t.diagnostic(`${FOREIGN_EVENTS} events created in ${createSeconds.toFixed(0)} s; RSS ${before.toFixed(1)} -> ${after.toFixed(1)} MiB (${grownMB.toFixed(1)} MB); live heap after GC ${((memory?.after.heapUsed ?? 0) / 1048576).toFixed(1)} MiB; events cache ${eventsBefore.objects} -> ${eventsCache.objects} objects, ${eventsCache.held} held`);
  // The managed pod's new event is kept; the foreign ones are not (at most the bounded buffer holds some).
  assert.ok(eventsCache.objects! >= eventsBefore.objects! + 1 && eventsCache.objects! < eventsBefore.objects! + 20, `events cached: ${eventsBefore.objects} -> ${eventsCache.objects}`);
  assert.ok(eventsCache.held <= 1000, `held: ${eventsCache.held}`);

  // Polls stay right: the running one runs, the failed one shows its own events, none of the foreign ones.
  const ok = await poll('ev-ok');
  assert.deepEqual([ok.status, ok.body.running, ok.body.state], [200, true, 'running']);
  const fail = await poll('ev-fail');
  assert.equal(fail.body.state, 'failed');
  assert.equal(fail.body.details.error, failed.body.details.error);
  assert.match(fail.body.details.detailed_error, /BackOff/);
  assert.doesNotMatch(fail.body.details.detailed_error, /foreign workload/);
  assert.ok(grownMB < 5, `RSS grew by ${grownMB.toFixed(1)} MB with ${FOREIGN_EVENTS} foreign events`);
});
