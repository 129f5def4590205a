import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OwnWrites } from '../../../src/kube/own-writes.js';
import { RetryWindow } from '../../../src/kube/retry.js';
import type { KubeObject } from '../../../src/kube/objects.js';

const obj = (uid: string, resourceVersion: string, note = ''): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', uid, resourceVersion, annotations: { note } } });

function clocked() {
  let now = 1_000;
  const writes = new OwnWrites<KubeObject>((o) => o, { bridgeMs: 60_000, now: () => now });
  return { writes, advance: (ms: number) => (now += ms) };
}

test('a write is shown until the watch shows that version or a newer one', () => {
  const { writes } = clocked();
  writes.wrote('k', obj('a', '10', 'mine'));
  assert.equal(writes.view('k', undefined)?.metadata.annotations?.note, 'mine', 'the watch has not seen the create');
  assert.equal(writes.view('k', obj('a', '9', 'older'))?.metadata.annotations?.note, 'mine', 'the watch is behind');
  assert.equal(writes.view('k', obj('a', '10', 'watched'))?.metadata.annotations?.note, 'watched');
  assert.deepEqual([...writes.keys()], [], 'the write is forgotten once seen');
  assert.equal(writes.view('k', obj('a', '9', 'older'))?.metadata.annotations?.note, 'older', 'and no longer laid over');
});

test('a newer object of another uid (recreated elsewhere) wins over an older own write', () => {
  const { writes } = clocked();
  writes.wrote('k', obj('a', '10', 'mine'));
  assert.equal(writes.view('k', obj('b', '12', 'theirs'))?.metadata.uid, 'b');
});

test('a deleted object is hidden although the watch still has it, and an own write of it goes too', () => {
  const { writes } = clocked();
  const mine = obj('a', '10');
  writes.wrote('k', mine);
  writes.deleted('a');
  assert.equal(writes.view('k', mine), undefined);
  assert.equal(writes.isDeleted(mine), true);
  assert.equal(writes.isDeleted(obj('b', '11')), false);
  assert.equal(writes.view('k', obj('b', '11'))?.metadata.uid, 'b', 'a new object of the name is shown');
});

test('writes and deletes are bridged for bridgeMs only: then the watch is the truth', () => {
  const { writes, advance } = clocked();
  writes.wrote('k', obj('a', '10', 'mine'));
  writes.deleted('z');
  advance(30_000);
  writes.wrote('j', obj('c', '20'));
  advance(30_001);
  assert.equal(writes.view('k', obj('a', '9', 'watched'))?.metadata.annotations?.note, 'watched');
  assert.equal(writes.isDeleted(obj('z', '1')), false);
  assert.deepEqual([...writes.keys()], ['j'], 'the later write is still there');
  writes.forget('j');
  assert.deepEqual([...writes.values()], []);
});

test('RetryWindow waits one interval at a time and says when the time is up', async () => {
  const window = new RetryWindow({ intervalMs: 20, timeoutMs: 70 });
  const t0 = Date.now();
  let pauses = 0;
  while (await window.pause()) pauses++;
  const took = Date.now() - t0;
  assert.ok(pauses >= 3 && pauses <= 4, `${pauses} pauses`);
  assert.ok(took >= 65 && took < 1000, `${took} ms`);
  assert.equal(window.expired, true);
  assert.equal(await window.pause(), false);
});
