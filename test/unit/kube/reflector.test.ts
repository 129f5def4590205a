// The reflector against a scripted list/watch source: routine watch ends
// resume without a list, 410 and faults relist, bookmarks move the
// resourceVersion, refused objects are held (bounded) until released, and the
// cache registers with the registry while it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Reflector, type ListWatchSource } from '../../../src/kube/reflector.js';
import { CacheRegistry, FAULT_REMINDER_EVERY, recoveryLogLine, restartLogLine, type RecoveryEvent, type RestartEvent } from '../../../src/kube/registry.js';
import { KubeApiError } from '../../../src/kube/rest.js';
import type { CollectionRef, KubeObject, ListOptions, WatchOptions } from '../../../src/kube/gateway.js';

const obj = (name: string, rv: string, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, resourceVersion: rv }, ...extra });

type WatchScript = (opts: WatchOptions) => Promise<void>;

class Source implements ListWatchSource {
  readonly caches = new CacheRegistry();
  readonly lists: Array<{ items: KubeObject[]; rv: string } | Error> = [];
  readonly watches: WatchScript[] = [];
  readonly calls: string[] = [];
  readonly events: RestartEvent[] = [];
  readonly recoveries: RecoveryEvent[] = [];
  constructor() {
    this.caches.onRestart((e) => this.events.push(e));
    this.caches.onRecovered((e) => this.recoveries.push(e));
  }
  async listPages(_ref: CollectionRef, opts: ListOptions): Promise<string> {
    this.calls.push('list');
    const next = this.lists.shift();
    if (!next) return new Promise(() => undefined);
    if (next instanceof Error) throw next;
    // Two pages, to see that the reflector takes a list page by page.
    opts.onPage(next.items.slice(0, 1));
    opts.onPage(next.items.slice(1));
    return next.rv;
  }
  async watch(_ref: CollectionRef, opts: WatchOptions): Promise<void> {
    this.calls.push(`watch@${opts.resourceVersion}`);
    const script = this.watches.shift();
    opts.onOpen?.();
    // Nothing scripted: an open watch until the reflector stops.
    if (!script) return new Promise((_, reject) => opts.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    return script(opts);
  }
}

const spec = { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespace: 'ns', name: 'pods' };
const fast = { backoffInitialMs: 5, backoffMaxMs: 20, minWatchMs: 0, graceMs: 50, random: () => 0 };

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a routine watch end resumes from the last resourceVersion (a bookmark\'s) without a list', async () => {
  const source = new Source();
  source.lists.push({ items: [obj('a', '10'), obj('b', '11')], rv: '12' });
  source.watches.push(async (o) => {
    o.onEvent({ type: 'MODIFIED', object: obj('a', '13') as never });
    o.onEvent({ type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '20' } } });
  });
  source.watches.push(async (o) => {
    o.onEvent({ type: 'DELETED', object: obj('b', '21') as never });
  });
  const seen: string[] = [];
  const r = new Reflector(source, spec, { onUpsert: (p) => seen.push(`up ${p.metadata.name}`), onDelete: (p) => seen.push(`del ${p.metadata.name}`) }, fast);
  r.start();
  await r.waitForSync();
  await until(() => source.calls.length >= 3, 'the third watch');
  r.stop();
  assert.deepEqual(source.calls, ['list', 'watch@12', 'watch@20', 'watch@21']);
  assert.deepEqual(seen, ['up a', 'up b', 'up a', 'del b']);
  assert.deepEqual([...r.values()].map((p) => [p.metadata.name, p.metadata.resourceVersion]), [['a', '13']]);
  assert.deepEqual(source.events.map((e) => e.reason), ['routine', 'routine']);
  assert.equal(r.status.resumes, 2);
  assert.equal(r.status.restarts, 0);
  assert.equal(r.status.lastError, null);
  assert.deepEqual([r.status.objects, r.status.resourceVersion], [1, '21']);
});

test('410 Gone (an ERROR event or the answer) relists; a fault relists with backoff and is reported', async () => {
  const source = new Source();
  source.lists.push({ items: [obj('a', '10')], rv: '10' }, { items: [obj('b', '30')], rv: '30' }, new KubeApiError(undefined, 'NoAnswer', 'connect ECONNREFUSED'), { items: [obj('b', '40')], rv: '40' });
  source.watches.push(async (o) => {
    o.onEvent({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 10 (25)' } });
  });
  source.watches.push(async () => {
    throw new KubeApiError(410, 'Gone', 'too old');
  });
  const deleted: string[] = [];
  const r = new Reflector(source, spec, { onDelete: (p) => deleted.push(p.metadata.name) }, fast);
  r.start();
  await until(() => source.calls.filter((c) => c === 'list').length === 4 && r.get('b')?.metadata.resourceVersion === '40', 'the fourth list');
  r.stop();
  assert.deepEqual(source.calls, ['list', 'watch@10', 'list', 'watch@30', 'list', 'list', 'watch@40']);
  assert.deepEqual(source.events.map((e) => e.reason), ['gone', 'gone', 'error']);
  assert.match(source.events[0]!.detail, /410 Expired too old resource version/);
  assert.match(source.events[2]!.detail, /ECONNREFUSED/);
  assert.deepEqual(deleted, ['a']);
  assert.equal(r.status.restarts, 3);
  assert.equal(r.status.lastError, null, 'a good list clears the last error');
  assert.deepEqual(source.events.map((e) => e.faults), [0, 0, 1], 'a 410 is no fault');
  assert.deepEqual(source.recoveries.map((e) => [e.name, e.faults]), [['pods', 1]]);
});

test('faults in a row are counted until a list succeeds; the recovery says how many and how long', async () => {
  const source = new Source();
  const down = () => new KubeApiError(undefined, 'NoAnswer', 'connect ECONNREFUSED');
  source.lists.push({ items: [], rv: '1' }, down(), down(), down(), { items: [], rv: '5' }, down(), { items: [], rv: '7' });
  source.watches.push(async () => {
    throw down();
  });
  source.watches.push(async () => {
    throw down();
  });
  const r = new Reflector(source, spec, {}, fast);
  r.start();
  await until(() => source.recoveries.length === 2, 'the second recovery');
  r.stop();
  // watch fails (1), three lists fail (2-4), a list succeeds; the next watch fails (1), a list fails (2), one succeeds.
  assert.deepEqual(source.events.map((e) => e.faults), [1, 2, 3, 4, 1, 2]);
  assert.deepEqual(source.recoveries.map((e) => e.faults), [4, 2]);
  assert.ok(source.recoveries.every((e) => e.downMs >= 0 && e.downMs < 5000));
});

test('the log: a routine end is debug, a 410 info, a fault warns once and then every tenth time in a row', () => {
  const event = (reason: RestartEvent['reason'], faults: number): RestartEvent => ({ name: 'pods', kind: 'Pod', reason, detail: '', faults });
  assert.equal(restartLogLine(event('routine', 0)).level, 'debug');
  assert.equal(restartLogLine(event('gone', 0)).level, 'info');
  const levels = Array.from({ length: 3 * FAULT_REMINDER_EVERY }, (_, i) => restartLogLine(event('error', i + 1)).level);
  assert.deepEqual(
    levels.flatMap((l, i) => (l === 'warning' ? [i + 1] : [])),
    [1, FAULT_REMINDER_EVERY, 2 * FAULT_REMINDER_EVERY, 3 * FAULT_REMINDER_EVERY],
  );
  assert.ok(levels.every((l) => l === 'warning' || l === 'debug'));
  assert.match(restartLogLine(event('error', 20)).msg, /still failing after 20 attempts/);
  assert.deepEqual(recoveryLogLine({ name: 'pods', kind: 'Pod', faults: 12, downMs: 61_400 }), { level: 'info', msg: 'cache listed again after 12 failed attempts over 61 s' });
  assert.match(recoveryLogLine({ name: 'pods', kind: 'Pod', faults: 1, downMs: 200 }).msg, /after 1 failed attempt over 0 s/);
});

test('a watch that ends at once without an event, or stays silent past its timeout, is a fault', async () => {
  const source = new Source();
  source.lists.push({ items: [], rv: '1' }, { items: [], rv: '2' }, { items: [], rv: '3' });
  source.watches.push(async () => undefined);
  // Silent: never ends on its own; the reflector gives up after timeout + grace.
  source.watches.push((o) => new Promise((_, reject) => o.signal.addEventListener('abort', () => reject(new Error('aborted')))));
  const r = new Reflector(source, { ...spec, watchTimeoutSeconds: 0 }, {}, { ...fast, minWatchMs: 1000 });
  r.start();
  await until(() => source.calls.length >= 5, 'the third list');
  r.stop();
  assert.deepEqual(source.events.map((e) => e.reason), ['error', 'error']);
  assert.match(source.events[0]!.detail, /very short watch/);
  assert.match(source.events[1]!.detail, /silent .* past its 0 s timeout/);
  assert.deepEqual(source.calls.slice(0, 5), ['list', 'watch@1', 'list', 'watch@2', 'list']);
});

test('refused objects are held, bounded, and cached when released; a cached object stays', async () => {
  const source = new Source();
  const wanted = new Set(['pod-1']);
  const ev = (name: string, pod: string, rv: string) => obj(name, rv, { involvedObject: { name: pod } });
  source.lists.push({ items: [ev('e1', 'pod-1', '1'), ev('e2', 'pod-2', '2'), ev('x1', 'other', '3')], rv: '3' });
  let emit: WatchOptions['onEvent'] | undefined;
  source.watches.push((o) => {
    emit = o.onEvent;
    return new Promise((_, reject) => o.signal.addEventListener('abort', () => reject(new Error('aborted'))));
  });
  const upserts: string[] = [];
  const r = new Reflector<KubeObject>(source, {
    ...spec,
    kind: 'Event',
    keep: (e) => wanted.has((e as { involvedObject?: { name?: string } }).involvedObject?.name ?? ''),
    hold: { key: (e) => (e as { involvedObject?: { name?: string } }).involvedObject?.name, max: 3 },
  }, { onUpsert: (e) => upserts.push(e.metadata.name) }, fast);
  r.start();
  await r.waitForSync();
  await until(() => emit !== undefined, 'the watch');
  assert.deepEqual([...r.values()].map((e) => e.metadata.name), ['e1']);
  assert.equal(r.heldCount, 2);
  assert.deepEqual([r.status.objects, r.status.held], [1, 2]);

  // pod-2 appears: its event is cached (and heard), the foreign one stays held.
  wanted.add('pod-2');
  r.release('pod-2');
  assert.deepEqual([...r.values()].map((e) => e.metadata.name).sort(), ['e1', 'e2']);
  assert.equal(r.heldCount, 1);

  // More foreign events than the buffer holds: the oldest go.
  for (let i = 0; i < 5; i++) emit!({ type: 'ADDED', object: ev(`x${i + 2}`, 'other', String(10 + i)) as never });
  assert.equal(r.heldCount, 3);
  emit!({ type: 'ADDED', object: ev('e3', 'pod-3', '20') as never });
  assert.equal(r.heldCount, 3);
  wanted.add('pod-3');
  r.release('pod-3');
  assert.ok(r.get('e3'), 'held until its pod came');
  assert.equal(r.heldCount, 2);
  // A deleted held object is dropped from the buffer.
  emit!({ type: 'DELETED', object: ev('x6', 'other', '21') as never });
  assert.equal(r.heldCount, 1);
  // Once cached, an object is kept even when `keep` would now refuse it.
  wanted.delete('pod-1');
  emit!({ type: 'MODIFIED', object: ev('e1', 'pod-1', '22') as never });
  assert.equal(r.get('e1')?.metadata.resourceVersion, '22');
  assert.deepEqual(upserts, ['e1', 'e2', 'e3', 'e1']);
  r.stop();
});

test('a running cache is in its registry; a stopped one is not; waitFor delays the first list', async () => {
  const source = new Source();
  source.lists.push({ items: [obj('a', '1')], rv: '1' });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const r = new Reflector(source, { ...spec, waitFor: () => gate }, {}, fast);
  assert.equal(source.caches.size, 0);
  r.start();
  assert.deepEqual(source.caches.statuses().map((s) => [s.name, s.kind, s.synced]), [['pods', 'Pod', false]]);
  await sleep(20);
  assert.deepEqual(source.calls, [], 'no list before waitFor resolved');
  open();
  await r.waitForSync();
  assert.equal(source.caches.statuses()[0]!.synced, true);
  assert.ok(source.caches.statuses()[0]!.lastContact > 0);
  r.stop();
  assert.equal(source.caches.size, 0);
});
