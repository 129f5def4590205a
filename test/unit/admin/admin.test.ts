// The admin page's pure parts: sessions (and when they end), the per-minute
// counts, the views of a service, Secret masking in rendered manifests, and
// the live feed over a stand-in cache (batches, states, removal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ActivityTracker } from '../../../src/admin/activity.js';
import { LiveFeed, type AdminCache, type FeedEvent } from '../../../src/admin/feed.js';
import { maskSecrets, readRenderedCopy } from '../../../src/admin/rendered.js';
import { processStartTime } from '../../../src/admin/procstart.js';
import { MemorySessionBook } from '../../../src/admin/session-book.js';
import { cookieValue, csrfMatches, sessionCookie, SessionStore } from '../../../src/admin/sessions.js';
import { eventRows, objectViews, progressLog, serviceRow, unescapeHtml } from '../../../src/admin/views.js';
import type { KubeObject } from '../../../src/kube/gateway.js';
import type { EventView, PodView } from '../../../src/status/interpret.js';
import type { ServiceRecord } from '../../../src/services/types.js';

test('a session lives while its credential backs it, and not past its idle or maximum age', async () => {
  let now = 1_000_000;
  const entries: Record<string, { groups: string[]; password?: string; tokens: Array<{ id: string }> }> = {
    ops: { groups: ['access_to_admin'], password: 'scrypt$h1', tokens: [{ id: 'aaaaaaaaaaaaaaaa' }] },
  };
  const store = new SessionStore({ entry: (name) => entries[name] }, { idleMs: 1000, maxAgeMs: 5000, now: () => now });
  const byPassword = await store.open('ops', { kind: 'password', hash: 'scrypt$h1' });
  const byToken = await store.open('ops', { kind: 'token', id: 'aaaaaaaaaaaaaaaa' });
  assert.notEqual(byPassword.id, byToken.id);
  assert.notEqual(byPassword.csrf, byPassword.id);
  assert.equal(store.use(byPassword.id)?.credential, 'ops');
  assert.equal(store.use('unknown'), undefined);
  assert.equal(store.use(undefined), undefined);

  // Revoking the token ends its session only; a new password ends the other.
  entries.ops!.tokens = [];
  assert.equal(store.use(byToken.id), undefined);
  assert.ok(store.use(byPassword.id));
  entries.ops!.password = 'scrypt$h2';
  assert.equal(store.use(byPassword.id), undefined);

  // Losing the group ends a session at once.
  const again = await store.open('ops', { kind: 'password', hash: 'scrypt$h2' });
  entries.ops!.groups = ['access_to_webservice'];
  assert.equal(store.use(again.id), undefined);
  entries.ops!.groups = ['access_to_admin'];

  // Idle and maximum age.
  const idle = await store.open('ops', { kind: 'password', hash: 'scrypt$h2' });
  now += 1001;
  assert.equal(store.use(idle.id), undefined);
  const busy = await store.open('ops', { kind: 'password', hash: 'scrypt$h2' });
  for (let i = 0; i < 5; i++) {
    now += 900;
    assert.ok(store.use(busy.id), `still used at step ${i}`);
  }
  now += 900;
  assert.equal(store.use(busy.id), undefined, 'past the maximum age although used');
  await new Promise((r) => setImmediate(r));
  assert.equal(store.size, 0, 'ended sessions are removed from the book');
});

test('the book holds no session id and no password hash; a session opened by one store is used, touched and closed through another', async () => {
  let now = 1_000_000;
  const entry = { groups: ['access_to_admin'], password: 'scrypt$secret-hash', tokens: [] };
  const book = new MemorySessionBook();
  const replicaA = new SessionStore({ entry: () => entry }, { idleMs: 60_000, touchEveryMs: 1000, now: () => now }, book);
  const replicaB = new SessionStore({ entry: () => entry }, { idleMs: 60_000, touchEveryMs: 1000, now: () => now }, book);
  const session = await replicaA.open('ops', { kind: 'password', hash: entry.password });
  let written = '';
  await book.change((sessions) => {
    written = JSON.stringify(sessions);
    return undefined;
  });
  assert.ok(!written.includes(session.id), 'the session id is in the book');
  assert.ok(!written.includes(entry.password), 'the password hash is in the book');
  assert.ok(written.includes(session.csrf));
  assert.equal((await replicaB.find(session.id))?.credential, 'ops');
  // A use on B after the touch interval keeps the session alive for A as well.
  now += 50_000;
  assert.ok(replicaB.use(session.id));
  await new Promise((r) => setImmediate(r));
  now += 50_000;
  assert.ok(replicaA.use(session.id), 'idle for A although used on B');
  await replicaB.close(session.id);
  assert.equal(replicaA.use(session.id), undefined, 'closed on B, still open on A');
});

test('sessions are bounded: the least recently used goes first', async () => {
  let now = 1_000_000;
  const store = new SessionStore({ entry: () => ({ groups: ['access_to_admin'], password: 'h', tokens: [] }) }, { maxSessions: 2, touchEveryMs: 10, now: () => now });
  const a = await store.open('x', { kind: 'password', hash: 'h' });
  now += 100;
  const b = await store.open('x', { kind: 'password', hash: 'h' });
  now += 100;
  store.use(a.id);
  await new Promise((r) => setImmediate(r));
  now += 100;
  const c = await store.open('x', { kind: 'password', hash: 'h' });
  assert.ok(store.use(a.id));
  assert.equal(store.use(b.id), undefined);
  assert.ok(store.use(c.id));
});

test('cookies and CSRF tokens', async () => {
  const store = new SessionStore({ entry: () => ({ groups: ['access_to_admin'], password: 'h', tokens: [] }) });
  const session = await store.open('ops', { kind: 'password', hash: 'h' });
  const cookie = sessionCookie(session, { secure: true, maxAgeSeconds: 60 });
  assert.equal(cookie, `k8smgr_admin=${session.id}; Max-Age=60; Path=/admin/; HttpOnly; SameSite=Strict; Secure`);
  assert.equal(sessionCookie(undefined, { secure: false, maxAgeSeconds: 60 }), 'k8smgr_admin=; Max-Age=0; Path=/admin/; HttpOnly; SameSite=Strict');
  assert.equal(cookieValue(`a=1; k8smgr_admin=${session.id}; b=2`, 'k8smgr_admin'), session.id);
  assert.equal(cookieValue('a=1', 'k8smgr_admin'), undefined);
  assert.equal(cookieValue(undefined, 'k8smgr_admin'), undefined);
  assert.equal(csrfMatches(session, session.csrf), true);
  assert.equal(csrfMatches(session, `${session.csrf}x`), false);
  assert.equal(csrfMatches(session, undefined), false);
  assert.equal(csrfMatches(session, [session.csrf]), false);
});

test('starts and failures per minute over the last hour', () => {
  let now = Date.parse('2026-03-01T12:00:30Z');
  const tracker = new ActivityTracker(() => now);
  assert.equal(tracker.start('u1', now - 5 * 60_000), true);
  assert.equal(tracker.start('u1', now), false, 'a start counts once');
  assert.equal(tracker.start('u2', now + 10_000), true, 'a clock a little ahead counts as now');
  assert.equal(tracker.start('old', now - 61 * 60_000), false, 'older than an hour');
  assert.equal(tracker.failure('u2', now), true);
  assert.equal(tracker.failure('u2', now), false);
  let series = tracker.series();
  assert.equal(series.end, Math.floor(now / 60_000));
  assert.equal(series.starts.length, 60);
  assert.equal(series.starts[59], 1);
  assert.equal(series.starts[54], 1);
  assert.equal(series.failures[59], 1);
  assert.equal(series.starts.reduce((a, b) => a + b), 2);
  now += 56 * 60_000;
  series = tracker.series();
  assert.equal(series.starts.reduce((a, b) => a + b), 1, 'the start of 61 minutes ago has left the hour');
});

const record: ServiceRecord = {
  servername: 'lab-1', start_id: 'abcd0001', user_options: { service: 'lab/ok' }, jhub_user_id: 7, jhub_credential: 'hub',
  start_date: '2026-03-01T11:59:00.000Z', stop_pending: false, objects: ['v1|Secret/secret-lab-1', 'apps/v1|Deployment/depl-lab-1', 'odd'],
};
const anchor = (extra: Record<string, string> = {}, uid = 'uid-1'): KubeObject => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'k8smgr-1234-lab-1', uid, creationTimestamp: '2026-03-01T11:59:00Z', annotations: extra },
});
const pod = (name: string, node: string, created: string): PodView => ({
  metadata: { name, creationTimestamp: created },
  spec: { nodeName: node, containers: [{ name: 'main', image: 'img' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 0, state: { running: {} } }] },
});

test('a service row, its objects, events and progress log', () => {
  const row = serviceRow(record, anchor(), [pod('p-old', 'n1', '2026-03-01T11:59:01Z'), pod('p-new', 'n2', '2026-03-01T11:59:30Z')],
    { state: 'running', details: { error: '', detailed_error: '' } }, 'main');
  assert.deepEqual(row, {
    id: 'k8smgr-1234-lab-1', credential: 'hub', servername: 'lab-1', userId: 7, service: 'lab/ok', startId: 'abcd0001',
    started: '2026-03-01T11:59:00.000Z', node: 'n2', state: 'running', error: '', api: 'seed',
  });
  // A start of the Outpost API shows the hub's server name and user beside the manager's servername.
  const outpost = { ...record, outpost: { name: 'lab', start_id: 'abcd0001ffff', user: 'alice', async: false, service: 'svc:1' } };
  const orow = serviceRow(outpost, anchor(), [], { state: 'starting', details: { error: '', detailed_error: '' } }, 'main');
  assert.deepEqual([orow.api, orow.hubServer, orow.hubUser], ['outpost', 'lab', 'alice']);
  assert.deepEqual(objectViews(record), [
    { apiVersion: 'v1', kind: 'Secret', name: 'secret-lab-1' },
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'depl-lab-1' },
    { apiVersion: '', kind: '', name: 'odd' },
  ]);
  const events: EventView[] = [
    { metadata: { name: 'e2' }, type: 'Warning', reason: 'BackOff', message: 'back-off', lastTimestamp: '2026-03-01T11:59:40Z' },
    { metadata: { name: 'e1' }, type: 'Normal', reason: 'Scheduled', message: 'assigned', lastTimestamp: '2026-03-01T11:59:31Z', count: 2 },
  ];
  assert.deepEqual(eventRows([{ pod: 'p-new', events }]).map((e) => [e.reason, e.count, e.time]), [
    ['Scheduled', 2, '2026-03-01T11:59:31.000Z'], ['BackOff', 1, '2026-03-01T11:59:40.000Z'],
  ]);
  assert.equal(progressLog(anchor()), undefined);
  assert.equal(progressLog(anchor({ 'k8smgr.io/progress-log': 'not json' })), undefined);
  assert.deepEqual(progressLog(anchor({ 'k8smgr.io/progress-log': JSON.stringify([{ progress: 40, summary: 'objects created', at: '2026-03-01T11:59:01Z' }, 'junk']) })),
    [{ progress: 40, summary: 'objects created', at: '2026-03-01T11:59:01Z' }]);
  assert.equal(unescapeHtml('a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;'), 'a <b> & "c" \'d\'');
});

test('rendered manifests: Secret data masked, only YAML shown, nothing outside the base', async () => {
  const yaml = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: c2VjcmV0\nstringData:\n  token: plain-secret\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  key: visible\n';
  const masked = maskSecrets(yaml)!;
  assert.ok(!masked.includes('c2VjcmV0') && !masked.includes('plain-secret'), masked);
  assert.match(masked, /password: "\*\*\*"/);
  assert.match(masked, /key: visible/);
  assert.match(masked, /kind: ConfigMap/);
  assert.equal(maskSecrets('a: [unclosed'), undefined);

  const base = mkdtempSync(path.join(tmpdir(), 'admin-rendered-'));
  const dir = path.join(base, 'lab-1-abcd0001');
  mkdirSync(path.join(dir, 'input'), { recursive: true });
  writeFileSync(path.join(dir, 'service.yaml'), yaml);
  writeFileSync(path.join(dir, 'input', 'secret.txt'), 'do not show');
  const outside = mkdtempSync(path.join(tmpdir(), 'admin-outside-'));
  writeFileSync(path.join(outside, 'x.yaml'), 'kind: ConfigMap\n');
  symlinkSync(path.join(outside, 'x.yaml'), path.join(dir, 'link.yaml'));
  const copy = await readRenderedCopy(base, 'lab-1', 'abcd0001');
  assert.ok('files' in copy);
  assert.deepEqual(copy.files.map((f) => f.path), ['input/secret.txt', 'service.yaml'], 'symlinks are not followed');
  assert.equal(copy.files[0]!.content, undefined);
  assert.ok(!copy.files[1]!.content!.includes('plain-secret'));
  assert.deepEqual(await readRenderedCopy(base, 'lab-2', 'abcd0001'), { folder: 'lab-2-abcd0001', missing: `no rendered copy under ${base}` });
  const escaping = await readRenderedCopy(base, '..', 'x');
  assert.ok('missing' in escaping);
  // A folder that is a symlink to elsewhere is refused.
  symlinkSync(outside, path.join(base, 'lab-3-abcd0001'));
  assert.ok('missing' in (await readRenderedCopy(base, 'lab-3', 'abcd0001')));
});

test('the live feed: one batch per window, state changes, failures counted once, removal', async () => {
  const services = new Map<string, { record: ServiceRecord; anchor: KubeObject }>();
  const listeners = new Set<(name: string) => void>();
  const states = new Map<string, 'starting' | 'running' | 'failed' | 'stopping'>();
  const cache: AdminCache = {
    all: () => services.values(),
    byAnchor: (name) => services.get(name),
    podsOf: () => [],
    eventsOf: () => [],
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const a = anchor();
  services.set(a.metadata.name, { record, anchor: a });
  states.set(a.metadata.name, 'starting');
  const feed = new LiveFeed({
    cache, mainContainer: () => 'main', batchMs: 20,
    verdictOf: (_r, an) => ({ state: states.get(an.metadata.name)!, details: { error: '', detailed_error: '' } }),
  });
  feed.start();
  assert.deepEqual(feed.snapshot().services.map((r) => r.state), ['starting']);
  const batches: FeedEvent[][] = [];
  feed.listen((events) => batches.push(events));
  const changed = (name: string) => {
    for (const l of listeners) l(name);
  };
  const settle = () => new Promise((r) => setTimeout(r, 60));

  states.set(a.metadata.name, 'failed');
  changed(a.metadata.name);
  changed(a.metadata.name);
  await settle();
  assert.equal(batches.length, 1, 'two changes in one window: one batch');
  assert.deepEqual(batches[0]!.map((e) => e.type), ['service', 'activity']);
  assert.equal((batches[0]![0] as { row: { state: string } }).row.state, 'failed');
  changed(a.metadata.name);
  await settle();
  assert.equal(batches.length, 1, 'nothing changed: nothing sent');
  assert.equal(feed.snapshot().activity.failures.reduce((x, y) => x + y), 1);

  services.delete(a.metadata.name);
  changed(a.metadata.name);
  await settle();
  assert.deepEqual(batches[1], [{ type: 'removed', id: a.metadata.name }]);
  assert.deepEqual(feed.snapshot().services, []);
  feed.stop();
  assert.equal(listeners.size, 0);
});

test('a process\'s start time from /proc, whatever its command name', async () => {
  const proc = mkdtempSync(path.join(tmpdir(), 'admin-proc-'));
  mkdirSync(path.join(proc, '42'));
  writeFileSync(path.join(proc, 'stat'), 'cpu  1 2 3\nbtime 1700000000\nprocesses 10\n');
  // Field 22 (starttime) is 250 ticks: 2.5 s after boot. The name has a space and a parenthesis.
  writeFileSync(path.join(proc, '42', 'stat'), '42 (ssh) x) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 250 1000 10 18446744073709551615\n');
  assert.equal(await processStartTime(42, proc), new Date(1_700_000_002_500).toISOString());
  assert.equal(await processStartTime(43, proc), undefined);
  assert.equal(await processStartTime(0, proc), undefined);
  const mine = await processStartTime(process.pid);
  assert.ok(mine && Math.abs(Date.parse(mine) - (Date.now() - process.uptime() * 1000)) < 5000, mine);
});
