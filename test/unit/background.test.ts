import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Background, type BackgroundPart } from '../../src/background.js';
import { buildReadiness } from '../../src/http/readiness.js';

function part(name: string, log: string[], extra: Partial<BackgroundPart> = {}): BackgroundPart {
  return {
    name,
    start: async () => {
      log.push(`start ${name}`);
    },
    stop: () => {
      log.push(`stop ${name}`);
    },
    ...extra,
  };
}

test('parts start in the order added (each once), and stop in the reverse order', async () => {
  const log: string[] = [];
  const bg = new Background();
  bg.add(part('a', log));
  bg.add(part('b', log));
  await bg.start();
  bg.add(part('c', log));
  await bg.start();
  await bg.stopAll();
  await bg.stopAll();
  assert.deepEqual(log, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
});

test('one part can be stopped first (the Lease); a part that fails to stop does not hold the others', async () => {
  const log: string[] = [];
  const failures: string[] = [];
  const bg = new Background({ onStopError: (name, err) => failures.push(`${name}: ${(err as Error).message}`) });
  bg.add(part('a', log));
  bg.add(part('lease', log));
  bg.add(part('b', log, { stop: () => Promise.reject(new Error('stuck')) }));
  await bg.start();
  await bg.stop('lease');
  await bg.stopAll();
  assert.deepEqual(log, ['start a', 'start lease', 'start b', 'stop lease', 'stop a']);
  assert.deepEqual(failures, ['b: stuck']);
  assert.throws(() => bg.add(part('a', log)), /twice/);
});

test('readiness walks the parts: their details, and a running part that is not ready holds readiness back', async () => {
  let ready = true;
  const bg = new Background();
  bg.add(part('logging', [], { details: () => ({ synced: true }) }));
  bg.add(part('userjobs', [], { ready: () => ready, details: () => ({ userjobs: 2 }) }));
  const readiness = buildReadiness({
    caches: () => [],
    config: () => ({ source: '/c.json', loadedAt: 'then', lastError: null }) as never,
    parts: bg,
  });
  assert.equal(readiness.check().ready, true, 'parts not started yet do not count');
  await bg.start();
  assert.deepEqual(readiness.check(), {
    ready: true,
    details: { config: { ok: true, source: '/c.json', loaded_at: 'then', last_error: null }, caches: [], logging: { synced: true }, userjobs: { userjobs: 2 } },
  });
  ready = false;
  assert.equal(readiness.check().ready, false);
  assert.deepEqual(bg.statuses().map((s) => [s.name, s.state, s.ready]), [['logging', 'running', true], ['userjobs', 'running', false]]);
});
