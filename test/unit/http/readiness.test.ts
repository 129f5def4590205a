import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReadiness } from '../../../src/http/readiness.js';
import { healthRoutes } from '../../../src/http/routes/health.js';
import type { App } from '../../../src/http/app.js';
import type { ReflectorStatus } from '../../../src/kube/reflector.js';
import Fastify from 'fastify';

const cache = (over: Partial<ReflectorStatus> = {}): ReflectorStatus => ({ kind: 'Pod', synced: true, restarts: 0, lastContact: 1000, lastError: null, ...over });
const config = (lastError: string | null = null) => ({ source: '/c.json', loadedAt: 'then', lastError });

test('ready only when every cache synced and is fresh', () => {
  let now = 2000;
  const caches = [cache(), cache({ kind: 'Event' })];
  const readiness = buildReadiness({ caches: () => caches, config: () => config(), staleAfterMs: 5000, now: () => now });
  assert.equal(readiness.check().ready, true);

  caches[1] = cache({ kind: 'Event', synced: false, lastContact: 0 });
  const notSynced = readiness.check();
  assert.equal(notSynced.ready, false);
  assert.deepEqual((notSynced.details.caches as Array<{ kind: string; synced: boolean }>).map((c) => [c.kind, c.synced]), [['Pod', true], ['Event', false]]);

  caches[1] = cache({ kind: 'Event' });
  now = 7000; // both last heard at 1000: stale after 5000 ms
  const stale = readiness.check();
  assert.equal(stale.ready, false);
  assert.deepEqual((stale.details.caches as Array<{ stale: boolean }>).map((c) => c.stale), [true, true]);
  now = 2000;
  assert.equal(readiness.check().ready, true);
});

test('a refused config.json keeps the replica ready and is reported in readiness and health details', () => {
  let cfg = config();
  const readiness = buildReadiness({ caches: () => [cache()], config: () => cfg, staleAfterMs: 5000, now: () => 2000 });
  assert.deepEqual(readiness.check().details.config, { ok: true, source: '/c.json', loaded_at: 'then', last_error: null });
  assert.deepEqual(readiness.health?.(), { config: { ok: true, source: '/c.json', loaded_at: 'then', last_error: null } });

  cfg = config('services.x: must be integer');
  const broken = readiness.check();
  assert.equal(broken.ready, true, 'every replica reads the same ConfigMap: a bad edit must not take them all out of the Service');
  assert.deepEqual(broken.details.config, { ok: false, source: '/c.json', loaded_at: 'then', last_error: 'services.x: must be integer' });
  assert.deepEqual(readiness.health?.(), { config: { ok: false, source: '/c.json', loaded_at: 'then', last_error: 'services.x: must be integer' } });

  // Caches still decide: a broken config does not hide an unsynced cache.
  const unsynced = buildReadiness({ caches: () => [cache({ synced: false })], config: () => cfg });
  assert.equal(unsynced.check().ready, false);
});

test('the routes: /api/health/ stays 200 with the config report, /api/ready/ 200 with it and 503 only for the caches', async () => {
  let cfg = config('startup: must be object');
  let caches = [cache()];
  const readiness = buildReadiness({ caches: () => caches, config: () => cfg, now: () => 2000 });
  const app = Fastify();
  await app.register(async (scope) => healthRoutes(scope as unknown as App, readiness));
  const health = await app.inject({ url: '/api/health/' });
  assert.equal(health.statusCode, 200);
  assert.deepEqual(health.json(), { status: 'ok', config: { ok: false, source: '/c.json', loaded_at: 'then', last_error: 'startup: must be object' } });
  const ready = await app.inject({ url: '/api/ready/' });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().ready, true);
  assert.equal(ready.json().config.last_error, 'startup: must be object');

  cfg = config();
  caches = [cache({ synced: false })];
  const notReady = await app.inject({ url: '/api/ready/' });
  assert.equal(notReady.statusCode, 503);
  assert.equal(notReady.json().config.ok, true);
  // A readiness without health details (tests' stubs) answers the bare liveness body.
  const bare = Fastify();
  await bare.register(async (scope) => healthRoutes(scope as unknown as App, { check: () => ({ ready: true, details: {} }) }));
  assert.deepEqual((await bare.inject({ url: '/api/health/' })).json(), { status: 'ok' });
  await app.close();
  await bare.close();
});
