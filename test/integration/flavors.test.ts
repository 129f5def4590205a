// Flavors on the real control plane. First the admission on its own (two
// "replicas" in this process, each with its own gateway and book cache):
// capacity under concurrency, release, per-user limits, pruning, usage pushes,
// the route. Then end to end through a manager process: limits and the hub's
// error, 20 concurrent starts against max 5, a runtime limit, a manager
// restart under a running deadline, a hot reload of a limit, usage pushes,
// resources and keywords in the created objects, metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic, startManager, type ManagerProcess } from '../helpers/manager.js';
import { parseConfig } from '../../src/config/parse.js';
import type { Config } from '../../src/config/schema.js';
import { KubeGateway } from '../../src/kube/gateway.js';
import { LogHub } from '../../src/logging/hub.js';
import { createLogger } from '../../src/logging/logger.js';
import { FlavorAdmission } from '../../src/flavors/admission.js';
import { ReservationStore, listAnchoredStarts } from '../../src/flavors/store.js';
import { UsagePusher } from '../../src/flavors/push.js';
import { bookName } from '../../src/flavors/objects.js';
import { isDomainError } from '../../src/errors.js';
import { buildApp } from '../../src/http/app.js';
import { callApi } from '../helpers/api.js';

const { kc, namespace, kubeconfigPath } = await testNamespace();
const core = kc.makeApiClient(k8s.CoreV1Api);
const logger = createLogger(new LogHub());

// A tiny hub endpoint for JUPYTERHUB_FLAVORS_UPDATE_URL.
interface Push { path: string; authorization: string | undefined; body: Record<string, { current: number; max: number }> }
const pushes: Push[] = [];
let receiver: Server;
let receiverUrl = '';
before(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      pushes.push({ path: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(text) });
      res.statusCode = 200;
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
after(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function bookData(instance: string, credential: string): Promise<Record<string, string>> {
  try {
    return (await core.readNamespacedConfigMap({ name: bookName(instance, credential), namespace })).data ?? {};
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return {};
    throw err;
  }
}

describe('admission against the control plane', () => {
  const INSTANCE = 'adm';
  const flavorsOf = (over: Record<string, unknown> = {}) => ({
    hub: {
      default: 'small',
      max_per_user: 3,
      flavors: {
        small: { max: 5, runtime: { minutes: 90 }, resources: { limits: { cpu: '1', memory: '2Gi' } } },
        solo: { max: -1, max_per_user: 1 },
        one: { max: 1 },
      },
      users: { '77': { max_per_user: 1 } },
      ...over,
    },
  });
  let config: Config = parseConfig(JSON.stringify({ flavors: flavorsOf() })).config;
  const replicas: Array<{ admission: FlavorAdmission; gateway: KubeGateway }> = [];
  const make = (graceMs = 60_000) => {
    const gateway = new KubeGateway(kc, { fieldManager: 'k8smgr' });
    const store = new ReservationStore({ gateway, namespace, instance: INSTANCE });
    const admission = new FlavorAdmission({
      config: () => config, store, logger, pusher: new UsagePusher({ logger, backoffMs: 50 }), graceMs,
      anchoredStarts: (credential) => listAnchoredStarts(gateway, namespace, INSTANCE, credential),
    });
    admission.start();
    replicas.push({ admission, gateway });
    return admission;
  };
  let a: FlavorAdmission;
  let b: FlavorAdmission;
  before(async () => {
    a = make();
    b = make();
  });
  after(() => {
    for (const r of replicas) r.admission.stop();
  });
  const req = (servername: string, startId: string, userId: number | string, userOptions: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
    ({ credential: 'hub', servername, startId, userId, userOptions, env });

  test('20 concurrent admissions on two replicas against max 5: exactly 5 pass, the book holds exactly those', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).admit(req(`burst-${i}`, 'aaaa0001', 100 + i))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 5);
    assert.equal(refused.length, 15);
    for (const r of refused) {
      assert.ok(isDomainError(r.reason) && r.reason.code === 'limit_reached', String(r.reason));
      assert.equal(r.reason.userMessage, 'No capacity left for flavor small: 5 of 5 running');
    }
    const data = await bookData(INSTANCE, 'hub');
    assert.equal(Object.keys(data).length, 5);
    for (const value of Object.values(data)) assert.equal(JSON.parse(value).flavor, 'small');
    // What an admitted start gets: keywords, anchor annotations with the deadline, the resource patch.
    const admitted = (ok[0] as PromiseFulfilledResult<Awaited<ReturnType<FlavorAdmission['admit']>>>).value;
    assert.equal(admitted.keywords.flavor, 'small');
    assert.equal(admitted.keywords.flavor_memory_limit, '2Gi');
    assert.equal(admitted.annotations['k8smgr.io/stop-reason'], 'Runtime limit of 1 hour 30 minutes reached');
    const stopAt = Date.parse(admitted.annotations['k8smgr.io/stop-at'] ?? '');
    assert.ok(Math.abs(stopAt - (Date.now() + 90 * 60_000)) < 60_000);
  });

  test('release frees the place (idempotent, on any replica); both replicas\' views follow', async () => {
    const taken = Object.keys(await bookData(INSTANCE, 'hub')).map((k) => ({ servername: k.slice(0, k.lastIndexOf('.')), startId: k.slice(k.lastIndexOf('.') + 1) }));
    assert.equal(taken.length, 5);
    await assert.rejects(a.admit(req('late-1', 'bbbb0001', 500)), /No capacity left/);
    await b.release({ credential: 'hub', ...taken[0]! });
    await a.release({ credential: 'hub', ...taken[0]! });
    await a.admit(req('late-1', 'bbbb0001', 500));
    await waitFor(async () => a.view('hub').flavors.small?.current === 5 && b.view('hub').flavors.small?.current === 5, { what: 'both views at 5' });
    for (const t of [...taken.slice(1), { servername: 'late-1', startId: 'bbbb0001' }]) await a.release({ credential: 'hub', ...t });
    assert.deepEqual(await bookData(INSTANCE, 'hub'), {});
    await waitFor(async () => b.view('hub').current === 0, { what: 'replica b sees the empty book' });
  });

  test('a repeated or replacing start of a servername takes its own place, not a second one', async () => {
    await a.admit(req('one-srv', 'cccc0001', 1, { flavor: 'one' }));
    await b.admit(req('one-srv', 'cccc0001', 1, { flavor: 'one' }));
    await b.admit(req('one-srv', 'cccc0002', 1, { flavor: 'one' }));
    await assert.rejects(a.admit(req('one-other', 'cccc0003', 2, { flavor: 'one' })), /No capacity left for flavor one: 1 of 1 running/);
    await a.release({ credential: 'hub', servername: 'one-srv', startId: 'cccc0001' });
    await a.release({ credential: 'hub', servername: 'one-srv', startId: 'cccc0002' });
  });

  test('per-user limits: per flavor, overall, and a user override; unknown flavors are 400', async () => {
    await a.admit(req('u5-a', 'dddd0001', 5, { flavor: 'solo' }));
    await assert.rejects(b.admit(req('u5-b', 'dddd0001', 5, { flavor: 'solo' })), (err: unknown) =>
      isDomainError(err) && err.code === 'limit_reached' && err.userMessage === 'You already run 1 of at most 1 services of flavor solo');
    await a.admit(req('u6-a', 'dddd0001', 6, { flavor: 'solo' })); // another user
    await a.admit(req('u5-c', 'dddd0001', 5));
    await a.admit(req('u5-d', 'dddd0001', 5));
    await assert.rejects(a.admit(req('u5-e', 'dddd0001', 5)), /You already run 3 of at most 3 services/);
    // User 77 may run one service in all.
    await a.admit(req('u77-a', 'dddd0001', 77));
    await assert.rejects(b.admit(req('u77-b', 'dddd0001', 77)), /You already run 1 of at most 1 services/);
    await assert.rejects(a.admit(req('u5-x', 'dddd0001', 5, { flavor: 'huge' })), (err: unknown) =>
      isDomainError(err) && err.code === 'invalid_input' && /Unknown flavor "huge"/.test(err.message));
    const view = a.view('hub', { id: '5' });
    assert.deepEqual({ current: view.user?.current, solo: view.flavors.solo?.user_current, small: view.flavors.small?.user_current }, { current: 3, solo: 1, small: 2 });
    for (const s of ['u5-a', 'u6-a', 'u5-c', 'u5-d', 'u77-a']) await b.release({ credential: 'hub', servername: s, startId: 'dddd0001' });
    assert.deepEqual(await bookData(INSTANCE, 'hub'), {});
  });

  test('reservations whose start has no anchor are pruned after the grace time; anchored ones stay', async () => {
    // A grace long enough for the admissions and the anchor below to happen within it on a busy machine.
    const quick = make(1500);
    await quick.admit(req('crashed', 'eeee0001', 1, { flavor: 'one' }));
    await quick.admit(req('anchored', 'eeee0001', 1));
    // The anchor of "anchored", as the manager would have created it.
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'anchor-anchored', labels: {
      'app.kubernetes.io/managed-by': 'k8smgr', 'k8smgr.io/instance': INSTANCE, 'k8smgr.io/role': 'anchor',
      'k8smgr.io/credential': 'hub', 'k8smgr.io/servername': 'anchored', 'k8smgr.io/start-id': 'eeee0001',
    } } } });
    assert.equal(await quick.sweep(), 0); // too young
    await new Promise((r) => setTimeout(r, 1700));
    assert.equal(await quick.sweep(), 1);
    assert.deepEqual(Object.keys(await bookData(INSTANCE, 'hub')), ['anchored.eeee0001']);
    // A refusal prunes first: "one" is free again although nobody released "crashed".
    await quick.admit(req('crashed2', 'eeee0001', 1, { flavor: 'one' }));
    await new Promise((r) => setTimeout(r, 1700));
    await quick.admit(req('crashed3', 'eeee0002', 2, { flavor: 'one' }));
    assert.deepEqual(Object.keys(await bookData(INSTANCE, 'hub')).sort(), ['anchored.eeee0001', 'crashed3.eeee0002']);
    await quick.release({ credential: 'hub', servername: 'anchored', startId: 'eeee0001' });
    await quick.release({ credential: 'hub', servername: 'crashed3', startId: 'eeee0002' });
  });

  test('usage pushes after admission and release, with the start\'s token', async () => {
    pushes.length = 0;
    const env = { JUPYTERHUB_FLAVORS_UPDATE_URL: `${receiverUrl}/hub/api/outpostflavors/k8s`, JUPYTERHUB_API_TOKEN: 'tok-123' };
    await a.admit(req('push-1', 'ffff0001', 9, {}, env));
    await waitFor(async () => pushes.some((p) => p.body.small?.current === 1), { what: 'a push with small at 1' });
    const first = pushes.find((p) => p.body.small?.current === 1)!;
    assert.equal(first.authorization, 'token tok-123');
    assert.equal(first.path, '/hub/api/outpostflavors/k8s');
    assert.deepEqual(Object.keys(first.body).sort(), ['one', 'small', 'solo']);
    assert.equal(first.body.small?.max, 5);
    // Released with the env read back from the start's env Secret (as a stop on any replica does).
    assert.deepEqual(a.releaseEnvKeys('hub'), ['JUPYTERHUB_FLAVORS_UPDATE_URL', 'JUPYTERHUB_FLAVORS_UPDATE_TOKEN', 'JUPYTERHUB_API_TOKEN']);
    assert.deepEqual(a.releaseEnvKeys('a-credential-without-flavors'), []);
    await a.release({ credential: 'hub', servername: 'push-1', startId: 'ffff0001', env });
    await waitFor(async () => pushes.at(-1)?.body.small?.current === 0, { what: 'a push with small at 0' });
  });

  test('GET /api/flavors/: settings and usage of the caller\'s credential, a user\'s with ?user_id=', async () => {
    await a.admit(req('route-1', 'gggg0001', 42, { flavor: 'solo' }));
    const app = buildApp({
      logger,
      authenticator: { authenticate: async () => ({ ok: true, principal: { credential: 'hub', groups: new Set(['access_to_webservice'] as const) } }) } as never,
      services: {} as never,
      flavors: a,
      readiness: { check: () => ({ ready: true, details: {} }) },
      bodyLimitBytes: 4096,
    });
    try {
      const all = await app.inject({ method: 'GET', url: '/api/flavors/' });
      assert.equal(all.statusCode, 200);
      const body = all.json();
      assert.equal(body.default, 'small');
      assert.equal(body.current, 1);
      assert.deepEqual(body.flavors.solo, { display_name: 'solo', description: '', weight: 0, max: -1, max_per_user: 1, runtime_seconds: 0, defined: true, current: 1 });
      assert.deepEqual(body.flavors.small.resources, { limits: { cpu: '1', memory: '2Gi' } });
      assert.deepEqual(body.flavors.small.runtime, { minutes: 90 });
      const mine = (await app.inject({ method: 'GET', url: '/api/flavors/?user_id=42' })).json();
      assert.deepEqual(mine.user, { user_id: '42', current: 1 });
      assert.equal(mine.flavors.solo.user_current, 1);
      const other = (await app.inject({ method: 'GET', url: '/api/flavors/?user_id=77' })).json();
      assert.equal(other.max_per_user, 1);
      assert.equal(other.flavors.solo.user_current, 0);
    } finally {
      await app.close();
      await a.release({ credential: 'hub', servername: 'route-1', startId: 'gggg0001' });
    }
  });

  test('a credential without flavors is admitted without any cluster write', async () => {
    const admitted = await a.admit({ ...req('nofl', 'hhhh0001', 1), credential: 'other' });
    assert.deepEqual(admitted.keywords, {});
    assert.deepEqual(admitted.annotations, {});
    assert.deepEqual(await bookData(INSTANCE, 'other'), {});
    await a.release({ credential: 'other', servername: 'nofl', startId: 'hhhh0001' });
    config = parseConfig(JSON.stringify({ flavors: flavorsOf() })).config;
  });
});

describe('end to end through the API of a manager process', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-flavors-'));
  const configPath = path.join(tmp, 'config.json');
  const descriptions = path.join(tmp, 'descriptions');
  mkdirSync(path.join(descriptions, 'testhub', 'lab', 'ok'), { recursive: true });
  mkdirSync(path.join(tmp, 'skel', 'testhub'), { recursive: true });
  writeFileSync(path.join(descriptions, 'testhub', 'lab', 'ok', 'service.yaml'), `apiVersion: apps/v1
kind: Deployment
metadata:
  name: depl-<id>
  annotations: { flavor: "<flavor>", memory: "<flavor_memory_limit>" }
spec:
  replicas: 1
  selector:
    matchLabels: { app: "<id>" }
  template:
    metadata:
      labels: { app: "<id>" }
    spec:
      containers:
        - name: main
          image: jupyter/base-notebook:latest
          envFrom:
            - secretRef: { name: <secret_name> }
---
apiVersion: v1
kind: Service
metadata:
  name: <id>
spec:
  selector: { app: "<id>" }
  ports:
    - { port: 8888, targetPort: 8888 }
`);
  const flavorsConfig = (reloadMax: number) => ({
    testhub: {
      default: 'small',
      flavors: {
        small: { max: 2, display_name: 'Small', weight: 1, resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } } },
        large: { max: -1, max_per_user: 1 },
        burst: { max: 5 },
        short: { max: -1, runtime: 4 },
        longer: { max: -1, runtime: 20 },
        reload: { max: reloadMax },
      },
    },
  });
  const writeConfig = (reloadMax: number) => writeFileSync(configPath, JSON.stringify({
    services: { descriptions, base: path.join(tmp, 'rendered'), failed_cleanup_seconds: 0 },
    userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
    startup: { create_user: { testhub: ['access_to_webservice'] } },
    flavors: flavorsConfig(reloadMax),
  }));
  writeConfig(0);
  const PASSWORD = 'pw-flavors-1';
  const TOKEN = 'flavor-push-token-never-logged-9c1e';
  const auth = basic('testhub', PASSWORD);
  let manager: ManagerProcess;
  const launch = (replica = 'replica-a') => startManager({ kubeconfigPath, namespace, configPath, env: { TESTHUB_USER_PASS: PASSWORD, DEPLOYMENT_NAME: 'e2e', POD_NAME: replica } });
  before(async () => {
    manager = await launch();
  });
  after(async () => {
    await manager?.kill('SIGTERM');
  });

  const api = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}, base = manager.url) =>
    callApi(base, method, url, { authorization: auth, body, headers });
  const start = (servername: string, startId: string, userId: number, userOptions: Record<string, unknown> = {}, env: Record<string, string> = {}, base = manager.url) =>
    api('POST', '/api/services/', {
      start_id: startId,
      user_options: { service: 'lab/ok', ...userOptions },
      env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/progress', JUPYTERHUB_API_TOKEN: TOKEN, JUPYTERHUB_USER_ID: userId, ...env },
    }, { uuidcode: servername }, base);
  const stop = (servername: string) => api('DELETE', `/api/services/${servername}/`);
  const flavorsNow = async () => (await api('GET', '/api/flavors/')).body;
  /** Objects of a servername (anchor included), not being deleted. */
  async function objectsOf(servername: string): Promise<string[]> {
    const out: string[] = [];
    const selector = `app.kubernetes.io/managed-by=k8smgr,k8smgr.io/servername=${servername}`;
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    for (const [apiVersion, kind] of [['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Pod'], ['apps/v1', 'Deployment']] as const) {
      const list = await objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector);
      for (const item of list.items) if (!item.metadata?.deletionTimestamp) out.push(`${kind}/${item.metadata?.name}`);
    }
    return out.sort();
  }

  test('over the limit: 429 with the words the hub shows, nothing created; a stop makes room', async () => {
    assert.equal((await start('cap-1', 'aaaa0001', 1)).status, 201);
    assert.equal((await start('cap-2', 'aaaa0001', 2)).status, 201);
    const third = await start('cap-3', 'aaaa0001', 3);
    assert.equal(third.status, 429, third.text);
    assert.equal(third.body.error, 'No capacity left for flavor small: 2 of 2 running');
    assert.match(third.body.detailed_error, /credential testhub, flavor small: 2 of 2 running/);
    assert.deepEqual(await objectsOf('cap-3'), []);
    assert.equal((await stop('cap-1')).status, 204);
    assert.equal((await start('cap-3', 'aaaa0002', 3)).status, 201);
    // The flavor's resources on the main container, its keywords in the template.
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const depl = await apps.readNamespacedDeployment({ name: 'depl-cap-3-aaaa0002', namespace });
    assert.equal(depl.metadata?.annotations?.flavor, 'small');
    assert.equal(depl.metadata?.annotations?.memory, '1Gi');
    const main = depl.spec?.template.spec?.containers.find((c) => c.name === 'main');
    assert.deepEqual(JSON.parse(JSON.stringify(main?.resources)), { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    // An unknown flavor is a 400 naming it.
    const unknown = await start('cap-4', 'aaaa0001', 4, { flavor: 'huge' });
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body), /Unknown flavor \\"huge\\"/);
    for (const s of ['cap-2', 'cap-3']) assert.equal((await stop(s)).status, 204);
    await waitFor(async () => (await flavorsNow()).flavors.small.current === 0, { what: 'small back at 0' });
  });

  test('per-user limit of a flavor', async () => {
    assert.equal((await start('pu-a', 'bbbb0001', 7, { flavor: 'large' })).status, 201);
    const second = await start('pu-b', 'bbbb0001', 7, { flavor: 'large' });
    assert.equal(second.status, 429);
    assert.equal(second.body.error, 'You already run 1 of at most 1 services of flavor large');
    assert.equal((await start('pu-c', 'bbbb0001', 8, { flavor: 'large' })).status, 201);
    const mine = (await api('GET', '/api/flavors/?user_id=7')).body;
    assert.equal(mine.flavors.large.user_current, 1);
    assert.equal(mine.flavors.large.current, 2);
    for (const s of ['pu-a', 'pu-c']) assert.equal((await stop(s)).status, 204);
  });

  test('20 concurrent starts against max 5 on two replicas: exactly 5 × 201, 15 × 429', async () => {
    const second = await launch('replica-b');
    let results: Awaited<ReturnType<typeof start>>[];
    let scraped: string[];
    try {
      results = await Promise.all(Array.from({ length: 20 }, (_, i) => start(`storm-${i}`, 'cccc0001', 200 + i, { flavor: 'burst' }, {}, i % 2 ? second.url : manager.url)));
      scraped = await Promise.all([manager.url, second.url].map(async (u) => (await fetch(`${u}/metrics`)).text()));
    } finally {
      await second.kill('SIGTERM');
    }
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 15, statuses.join(','));
    for (const r of results.filter((x) => x.status === 429)) assert.equal(r.body.error, 'No capacity left for flavor burst: 5 of 5 running');
    assert.equal((await flavorsNow()).flavors.burst.current, 5);
    // Every replica reports the same usage (from the book); each counts the refusals it answered.
    for (const metrics of scraped) {
      assert.match(metrics, /k8smgr_flavor_running\{credential="testhub",flavor="burst"\} 5/);
      assert.match(metrics, /k8smgr_flavor_limit\{credential="testhub",flavor="burst"\} 5/);
    }
    const rejected = scraped.map((m) => Number(/k8smgr_flavor_rejected_starts_total\{credential="testhub",flavor="burst",reason="flavor_full"\} (\d+)/.exec(m)?.[1] ?? 0));
    assert.equal(rejected[0]! + rejected[1]!, 15);
    await Promise.all(results.map((r, i) => (r.status === 201 ? stop(`storm-${i}`) : undefined)));
    await waitFor(async () => (await flavorsNow()).flavors.burst.current === 0, { what: 'burst back at 0' });
  });

  test('runtime limit: polls answer running false with the reason, the workload and the reservation go', async () => {
    assert.equal((await start('rt-1', 'dddd0001', 11, { flavor: 'short' })).status, 201);
    const poll = await waitFor(async () => {
      const r = await api('GET', '/api/services/rt-1/');
      return r.status === 200 && r.body.running === false ? r.body : false;
    }, { what: 'rt-1 stopped by its runtime', timeoutMs: 30_000 });
    assert.equal(poll.details.error, 'Runtime limit of 4 seconds reached');
    await waitFor(async () => (await objectsOf('rt-1')).every((o) => o.startsWith('ConfigMap/')), { what: 'the workload of rt-1 removed', timeoutMs: 30_000 });
    await waitFor(async () => (await flavorsNow()).flavors.short.current === 0, { what: 'the reservation of rt-1 released' });
    // The hub stops the server it sees stopped: then nothing at all is left.
    assert.equal((await stop('rt-1')).status, 204);
    await waitFor(async () => (await objectsOf('rt-1')).length === 0, { what: 'nothing of rt-1 left' });
  });

  test('a manager restart keeps the deadline (it lives on the anchor)', async () => {
    const startedAt = Date.now();
    assert.equal((await start('rt-2', 'eeee0001', 12, { flavor: 'longer' })).status, 201);
    await manager.kill('SIGKILL');
    manager = await launch();
    const poll = await waitFor(async () => {
      const r = await api('GET', '/api/services/rt-2/');
      return r.status === 200 && r.body.running === false ? r.body : false;
    }, { what: 'rt-2 stopped by its runtime after the restart', timeoutMs: 60_000 });
    assert.ok(Date.now() - startedAt >= 19_000, 'stopped before its deadline');
    assert.equal(poll.details.error, 'Runtime limit of 20 seconds reached');
    await waitFor(async () => (await flavorsNow()).flavors.longer.current === 0, { what: 'the reservation of rt-2 released' });
    assert.equal((await stop('rt-2')).status, 204);
  });

  test('hot reload of a limit: a closed flavor opens without a restart', async () => {
    const closed = await start('hr-1', 'ffff0001', 21, { flavor: 'reload' });
    assert.equal(closed.status, 429);
    assert.equal(closed.body.error, 'Flavor reload is closed: no new services of it can start');
    writeConfig(1);
    await waitFor(async () => (await flavorsNow()).flavors.reload.max === 1, { what: 'the reloaded limit', timeoutMs: 15_000 });
    assert.equal((await start('hr-1', 'ffff0002', 21, { flavor: 'reload' })).status, 201);
    assert.equal((await start('hr-2', 'ffff0001', 22, { flavor: 'reload' })).status, 429);
    assert.equal((await stop('hr-1')).status, 204);
  });

  test('a stop answered by another replica pushes the usage too, with the start\'s URL and token', async () => {
    pushes.length = 0;
    const env = { JUPYTERHUB_FLAVORS_UPDATE_URL: `${receiverUrl}/hub/api/outpostflavors/other-replica` };
    assert.equal((await start('push-other', 'gggg0101', 32, { flavor: 'small' }, env)).status, 201);
    await waitFor(async () => pushes.some((p) => p.body.small?.current === 1), { what: 'a push after the start' });
    const second = await launch('replica-b');
    try {
      pushes.length = 0;
      // The second replica never saw the start's request: it reads the push target from the start's env Secret.
      assert.equal((await api('DELETE', '/api/services/push-other/', undefined, {}, second.url)).status, 204);
      await waitFor(async () => pushes.at(-1)?.body.small?.current === 0, { what: 'a push after the stop on the other replica' });
      const last = pushes.at(-1)!;
      assert.equal(last.path, '/hub/api/outpostflavors/other-replica');
      assert.equal(last.authorization, `token ${TOKEN}`);
      assert.ok(!second.output().includes(TOKEN), 'the API token appears in the second replica\'s output');
    } finally {
      await second.kill('SIGTERM');
    }
  });

  test('usage pushes to JUPYTERHUB_FLAVORS_UPDATE_URL after start and stop; the token stays out of the log', async () => {
    pushes.length = 0;
    const env = { JUPYTERHUB_FLAVORS_UPDATE_URL: `${receiverUrl}/hub/api/outpostflavors/e2e` };
    assert.equal((await start('push-e2e', 'gggg0001', 31, { flavor: 'small' }, env)).status, 201);
    await waitFor(async () => pushes.some((p) => p.body.small?.current === 1), { what: 'a push after the start' });
    const first = pushes.find((p) => p.body.small?.current === 1)!;
    assert.equal(first.authorization, `token ${TOKEN}`);
    assert.equal(first.path, '/hub/api/outpostflavors/e2e');
    // A JupyterHub Outpost's shape: what the hub's flavor UI reads.
    assert.deepEqual(first.body.small, { display_name: 'Small', description: '', weight: 1, max: 2, resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } }, current: 1 } as never);
    assert.equal((await stop('push-e2e')).status, 204);
    await waitFor(async () => pushes.at(-1)?.body.small?.current === 0, { what: 'a push after the stop' });
    assert.ok(!manager.output().includes(TOKEN), 'the API token appears in the manager output');
  });
});
