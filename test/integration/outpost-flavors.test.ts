// Flavors over the Outpost API, against two manager processes on the real
// control plane: GET /flavors/ and POST /userflavors in an Outpost's shape from
// the same book as /api/flavors/, the Outpost's words for each refusal, rules on
// the authentication dict, usage pushes to the hub with its flavors token,
// the runtime limit answered as 404, and 20 concurrent starts over two replicas
// against max 5.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic, startManager, type ManagerProcess } from '../helpers/manager.js';
import { callApi } from '../helpers/api.js';

const { namespace, kubeconfigPath } = await testNamespace();
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-outpost-flavors-'));
const configPath = path.join(tmp, 'config.json');
mkdirSync(path.join(tmp, 'skel'), { recursive: true });
const FLAVORS_TOKEN = 'hub-flavors-token-never-logged-5e1f';
writeFileSync(configPath, JSON.stringify({
  services: { descriptions: path.resolve('test/fixtures/outpost/descriptions'), base: path.join(tmp, 'rendered') },
  userhomes: { enabled: false },
  startup: { create_user: { outposthub: ['access_to_webservice'] } },
  outpost: { ready_timeout_seconds: 15, credentials: { outposthub: { default_service: 'lab/ok', misc_keywords: { image: 'jupyter/base-notebook:latest' } } } },
  flavors: {
    outposthub: {
      max_per_user: 3,
      flavors: {
        small: { max: 5, max_per_user: 2, weight: 10, display_name: 'Small', description: 'small, 1 hour', runtime: { hours: 1 } },
        tiny: { max: 1, weight: 5, display_name: 'Tiny' },
        brief: { max: -1, runtime: { seconds: 3 } },
        gpu: { max: 2, weight: 1 },
      },
      offer: { flavors: ['small', 'tiny', 'brief'] },
      rules: [
        { name: 'gpu-users', match: { groups: ['gpu'] }, weight: 10, flavors: ['small', 'gpu'] },
        { name: 'blocked', match: { groups: ['blocked'] }, weight: 20, forbidden: true },
      ],
    },
  },
}));
const PASSWORD = 'pw-outpost-flavors';
const auth = basic('outposthub', PASSWORD);

/** The hub's side: what the managers push to JUPYTERHUB_FLAVORS_UPDATE_URL. */
const pushes: Array<{ authorization: string; body: Record<string, { current: number; max: number }> }> = [];
const hubServer = http.createServer((req, res) => {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('end', () => {
    if (req.url === '/hub/api/outpostflavors/k8smgr') pushes.push({ authorization: req.headers.authorization ?? '', body: JSON.parse(text) as never });
    res.writeHead(req.url?.startsWith('/hub/api/outpostflavors') ? 200 : 204).end();
  });
});
await new Promise<void>((r) => hubServer.listen(0, '127.0.0.1', r));
const hubUrl = `http://127.0.0.1:${(hubServer.address() as AddressInfo).port}`;

let a: ManagerProcess;
let b: ManagerProcess;
before(async () => {
  [a, b] = (await Promise.all(['mgr-a', 'mgr-b'].map((replica) => startManager({ kubeconfigPath, namespace, configPath, env: { OUTPOSTHUB_USER_PASS: PASSWORD, POD_NAME: replica } })))) as [ManagerProcess, ManagerProcess];
});
after(async () => {
  await Promise.all([a?.kill('SIGTERM'), b?.kill('SIGTERM')]);
  hubServer.close();
});

const on = (m: ManagerProcess) => (method: string, url: string, body?: unknown, headers?: Record<string, string>) => callApi(m.url, method, `/outpost${url}`, { authorization: auth, body, headers });
const newStartId = () => randomBytes(16).toString('hex');
function startBody(name: string, startId: string, opts: { flavor?: string; userId?: number; authentication?: Record<string, unknown>; profile?: string } = {}) {
  return {
    name,
    env: {
      JUPYTERHUB_USER: `user${opts.userId ?? 7}`, JUPYTERHUB_USER_ID: String(opts.userId ?? 7), JUPYTERHUB_API_TOKEN: 'server-token',
      JUPYTERHUB_FLAVORS_UPDATE_URL: `${hubUrl}/hub/api/outpostflavors/k8smgr`, JUPYTERHUB_FLAVORS_UPDATE_TOKEN: FLAVORS_TOKEN,
    },
    user_options: { start_id: startId, ...(opts.flavor ? { flavor: opts.flavor } : {}), ...(opts.profile ? { profile: opts.profile } : {}) },
    misc: { port: 8888 },
    ...(opts.authentication ? { authentication: opts.authentication } : {}),
  };
}

test('GET /flavors/ and POST /userflavors: an Outpost\'s shape, from the book /api/flavors/ reads', async () => {
  const flavors = await on(a)('GET', '/flavors/');
  assert.equal(flavors.status, 200);
  assert.deepEqual(flavors.body, {
    small: { max: 5, maxPerUser: 2, weight: 10, display_name: 'Small', description: 'small, 1 hour', runtime: { hours: 1 }, current: 0 },
    tiny: { max: 1, weight: 5, display_name: 'Tiny', description: '', current: 0 },
    brief: { max: -1, weight: 0, display_name: 'brief', description: '', runtime: { seconds: 3 }, current: 0 },
  });
  const redirect = await fetch(`${a.url}/outpost/flavors`, { redirect: 'manual', headers: { authorization: auth } });
  assert.equal(redirect.status, 307);
  assert.match(redirect.headers.get('location') ?? '', /\/outpost\/flavors\/$/);
  assert.equal((await fetch(`${a.url}/outpost/userflavors/`, { method: 'POST', redirect: 'manual', headers: { authorization: auth } })).status, 307);
  // A user's view: the rule of their groups; forbidden: nothing; no identity: the hub's view.
  assert.deepEqual(Object.keys((await on(a)('POST', '/userflavors', { name: 'ann', groups: ['gpu'] })).body).sort(), ['gpu', 'small']);
  assert.deepEqual((await on(a)('POST', '/userflavors', { name: 'bob', groups: ['blocked'] })).body, {});
  assert.deepEqual(Object.keys((await on(a)('POST', '/userflavors', {})).body).sort(), ['brief', 'small', 'tiny']);
  assert.equal((await on(a)('POST', '/userflavors', [1])).status, 422);
});

test('refusals answer 419 in an Outpost\'s words, for each case; a forbidden identity is refused', async () => {
  const started: string[] = [];
  const one = newStartId();
  const first = await on(a)('POST', '/services', startBody('t1', one, { flavor: 'tiny' }));
  assert.equal(first.status, 200, first.text);
  started.push(`t1/${one}`);
  const cases: Array<[Record<string, unknown>, string]> = [
    [startBody('t2', newStartId(), { flavor: 'tiny', userId: 8 }), 't2 - Start with tiny for outposthub not allowed. Maximum (1) already reached.'],
    [startBody('g1', newStartId(), { flavor: 'gpu' }), "g1 - Start with flavor gpu not allowed. Allowed values for user: ['brief', 'small', 'tiny']"],
    [startBody('n1', newStartId()), "n1 - Start with flavor None not allowed. Allowed values for user: ['brief', 'small', 'tiny']"],
    [startBody('f1', newStartId(), { flavor: 'small', authentication: { name: 'user7', groups: ['blocked'], access_token: 'secret-access-token-1' } }), 'f1 - Start with flavor small not allowed. Allowed values for user: []'],
  ];
  for (const [body, words] of cases) {
    const r = await on(b)('POST', '/services', body);
    assert.equal(r.status, 419, r.text);
    assert.deepEqual(r.body.args, [words]);
  }
  // Per user: small allows 2 of a user; the user's third start of any flavor hits max_per_user 3.
  for (const name of ['s1', 's2']) {
    const id = newStartId();
    assert.equal((await on(a)('POST', '/services', startBody(name, id, { flavor: 'small' }))).status, 200);
    started.push(`${name}/${id}`);
  }
  const third = await on(a)('POST', '/services', startBody('s3', newStartId(), { flavor: 'small' }));
  assert.deepEqual([third.status, third.body.args], [419, ['s3 - User with user id 7 of outposthub has reached the maximum limit of services (3)']]);
  // Another user's third small is within the flavor's max of 5.
  const s4 = newStartId();
  assert.equal((await on(a)('POST', '/services', startBody('s4', s4, { flavor: 'small', userId: 9 }))).status, 200);
  started.push(`s4/${s4}`);
  // The gpu group's rule gives gpu (sent with the identity, as OutpostSpawner does with user flavors).
  const gpuId = newStartId();
  const gpu = await on(b)('POST', '/services', startBody('g2', gpuId, { flavor: 'gpu', userId: 10, authentication: { name: 'user10', groups: ['gpu'] } }));
  assert.equal(gpu.status, 200, gpu.text);
  started.push(`g2/${gpuId}`);
  for (const s of started) assert.equal((await on(a)('DELETE', `/services/${s}`)).status, 200, s);
  assert.deepEqual((await on(a)('GET', '/services/')).body, []);
  await waitFor(async () => Object.values((await on(b)('GET', '/flavors/')).body as Record<string, { current: number }>).every((f) => f.current === 0), { what: 'the book empty' });
  assert.ok(!a.output().includes('secret-access-token-1') && !b.output().includes('secret-access-token-1'), 'the access token reached a log line');
});

test('usage pushes in an Outpost\'s shape with the flavors token, after a start, a failed start and a stop, from either replica', async () => {
  pushes.length = 0;
  const id = newStartId();
  assert.equal((await on(a)('POST', '/services', startBody('p1', id, { flavor: 'small' }))).status, 200);
  await waitFor(async () => pushes.some((p) => p.body.small?.current === 1), { what: 'a push with small at 1' });
  const first = pushes.find((p) => p.body.small?.current === 1)!;
  assert.equal(first.authorization, `token ${FLAVORS_TOKEN}`);
  assert.deepEqual(Object.keys(first.body).sort(), ['brief', 'small', 'tiny']);
  assert.deepEqual(first.body.small, { max: 5, maxPerUser: 2, weight: 10, display_name: 'Small', description: 'small, 1 hour', runtime: { hours: 1 }, current: 1 } as never);
  // Stopped by the other replica: it reads the URL and token back and pushes.
  pushes.length = 0;
  assert.equal((await on(b)('DELETE', `/services/p1/${id}`)).status, 200);
  await waitFor(async () => pushes.at(-1)?.body.small?.current === 0, { what: 'a push with small at 0 after the stop' });
  // A failed start pushes too: once admitted, once released after the failure.
  pushes.length = 0;
  const bad = await on(a)('POST', '/services', startBody('p2', newStartId(), { flavor: 'small', profile: 'lab/fail' }));
  assert.equal(bad.status, 419, bad.text);
  await waitFor(async () => pushes.some((p) => p.body.small?.current === 1) && pushes.at(-1)?.body.small?.current === 0, { what: 'pushes after the failed start' });
  assert.ok(!a.output().includes(FLAVORS_TOKEN) && !b.output().includes(FLAVORS_TOKEN), 'the flavors token reached a log line');
});

test('the runtime limit ends a service; the hub\'s next poll gets 404, and the usage push says so', async () => {
  pushes.length = 0;
  const id = newStartId();
  assert.equal((await on(a)('POST', '/services', startBody('r1', id, { flavor: 'brief' }))).status, 200);
  assert.deepEqual((await on(b)('GET', `/services/r1/${id}`)).body, { status: null, logs: [] });
  const end = Date.now();
  await waitFor(async () => (await on(b)('GET', `/services/r1/${id}`)).status === 404, { what: 'a poll answering 404 after the runtime', timeoutMs: 20_000 });
  assert.ok(Date.now() - end < 10_000);
  assert.deepEqual((await on(a)('GET', `/services/r1/${id}`)).body, { detail: 'Item not found' });
  await waitFor(async () => pushes.some((p) => p.body.brief?.current === 1) && pushes.at(-1)?.body.brief?.current === 0, { what: 'the push after the runtime end', timeoutMs: 20_000 });
  // The hub's stop after its poll: 404, nothing left.
  assert.equal((await on(a)('DELETE', `/services/r1/${id}`)).status, 200);
});

test('a flavor used through either API counts once, in one book: /api/flavors/ and /outpost/flavors/ agree', async () => {
  const outpostId = newStartId();
  assert.equal((await on(a)('POST', '/services', startBody('o1', outpostId, { flavor: 'small' }))).status, 200);
  const seed = await callApi(b.url, 'POST', '/api/services/', {
    authorization: auth,
    headers: { uuidcode: 'seed-small' },
    body: { start_id: 'abcd0001', user_options: { service: 'lab/plain', flavor: 'small' }, env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/x', JUPYTERHUB_API_TOKEN: 't', JUPYTERHUB_USER_ID: 21 } },
  });
  assert.equal(seed.status, 201, seed.text);
  for (const m of [a, b]) {
    await waitFor(async () => ((await on(m)('GET', '/flavors/')).body as Record<string, { current: number }>).small?.current === 2, { what: 'small at 2 on the Outpost API' });
    assert.equal((await callApi(m.url, 'GET', '/api/flavors/', { authorization: auth })).body.flavors.small.current, 2);
  }
  assert.equal((await on(a)('DELETE', `/services/o1/${outpostId}`)).status, 200);
  assert.equal((await callApi(a.url, 'DELETE', '/api/services/seed-small/', { authorization: auth })).status, 204);
  await waitFor(async () => ((await on(b)('GET', '/flavors/')).body as Record<string, { current: number }>).small?.current === 0, { what: 'small back at 0' });
});

test('20 concurrent starts over two replicas against max 5: exactly 5 run', async () => {
  // Five users may each run 2 small (max_per_user) and 3 in all: 20 starts of 20 users against max 5.
  const ids = Array.from({ length: 20 }, () => newStartId());
  const answers = await Promise.all(ids.map((id, i) => on(i % 2 ? b : a)('POST', '/services', startBody(`c${i}`, id, { flavor: 'small', userId: 100 + i }))));
  const statuses = answers.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(','));
  assert.equal(statuses.filter((s) => s === 419).length, 15, statuses.join(','));
  for (const r of answers.filter((x) => x.status === 419)) assert.match(r.body.args[0], /^c[0-9]+ - Start with small for outposthub not allowed\. Maximum \(5\) already reached\.$/);
  assert.equal(((await on(b)('GET', '/flavors/')).body as Record<string, { current: number }>).small?.current, 5);
  await Promise.all(ids.map((id, i) => (answers[i]!.status === 200 ? on(a)('DELETE', `/services/c${i}/${id}`) : undefined)));
  await waitFor(async () => ((await on(a)('GET', '/flavors/')).body as Record<string, { current: number }>).small?.current === 0, { what: 'all released' });
});
