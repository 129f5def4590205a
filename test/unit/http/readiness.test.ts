import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReadiness } from '../../../src/http/readiness.js';
import type { ReflectorStatus } from '../../../src/kube/reflector.js';

const cache = (over: Partial<ReflectorStatus> = {}): ReflectorStatus => ({ kind: 'Pod', synced: true, restarts: 0, lastContact: 1000, lastError: null, ...over });
const config = (lastError: string | null = null) => ({ source: '/c.json', loadedAt: 'then', lastError });

test('ready only when every cache synced and fresh and the config on disk is in use', () => {
  let now = 2000;
  const caches = [cache(), cache({ kind: 'Event' })];
  let cfg = config();
  const readiness = buildReadiness({ caches: () => caches, config: () => cfg, staleAfterMs: 5000, now: () => now });
  assert.equal(readiness.check().ready, true);

  caches[1] = cache({ kind: 'Event', synced: false, lastContact: 0 });
  const notSynced = readiness.check();
  assert.equal(notSynced.ready, false);
  assert.deepEqual((notSynced.details.caches as Array<{ kind: string; synced: boolean }>).map((c) => [c.kind, c.synced]), [['Pod', true], ['Event', false]]);

  caches[1] = cache({ kind: 'Event' });
  now = 7000; // both last heard at 1000: stale after 5000 ms
  assert.equal(readiness.check().ready, false);
  now = 2000;
  cfg = config('services.x: must be integer');
  const broken = readiness.check();
  assert.equal(broken.ready, false);
  assert.deepEqual(broken.details.config, { source: '/c.json', loaded_at: 'then', last_error: 'services.x: must be integer' });
  cfg = config();
  assert.equal(readiness.check().ready, true);
});
