import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agedKeys, currentStarts, decide, parseBook, reservationKey, serializeReservation, splitKey, usageOf, type Book } from '../../../src/flavors/capacity.js';

function book(entries: Array<[string, string, string, string, string?]>): Book {
  // [servername, startId, flavor, user, at]
  return new Map(entries.map(([s, id, flavor, user_id, at]) => [reservationKey(s, id), { flavor, user_id, at: at ?? '2030-01-01T00:00:00.000Z' }]));
}

test('keys and the ConfigMap data round trip; damaged entries are ignored', () => {
  assert.equal(reservationKey('lab-1', 'ab12'), 'lab-1.ab12');
  assert.deepEqual(splitKey('lab-1.ab12'), { servername: 'lab-1', startId: 'ab12' });
  const r = { flavor: 'small', user_id: '42', at: '2030-01-01T00:00:00.000Z' };
  assert.deepEqual(parseBook({ 'a.1': serializeReservation(r), 'b.2': 'not json', 'c.3': '{"flavor": 1}' }), new Map([['a.1', r]]));
  assert.deepEqual(parseBook(undefined), new Map());
});

test('usage counts one start per servername (the newest), per flavor and per user', () => {
  const b = book([
    ['lab-1', 'old', 'small', '1', '2030-01-01T00:00:00.000Z'],
    ['lab-1', 'new', 'large', '1', '2030-01-01T00:01:00.000Z'],
    ['lab-2', 'x', 'small', '1'],
    ['lab-3', 'y', 'small', '2'],
  ]);
  assert.deepEqual(currentStarts(b).map((s) => s.key).sort(), ['lab-1.new', 'lab-2.x', 'lab-3.y']);
  const u = usageOf(b);
  assert.equal(u.total, 3);
  assert.deepEqual([...u.byFlavor].sort(), [['large', 1], ['small', 2]]);
  assert.equal(u.byUser.get('1')?.total, 2);
  assert.equal(u.byUser.get('1')?.byFlavor.get('small'), 1);
  // Leaving a servername out (the start that replaces it).
  assert.equal(usageOf(b, 'lab-1').total, 2);
});

test('decide: flavor max, per-user max of the flavor, per-user max overall, closed', () => {
  const b = book([['a', '1', 'small', '1'], ['b', '1', 'small', '2'], ['c', '1', 'large', '1']]);
  const ask = (over: Partial<Parameters<typeof decide>[1]> = {}) =>
    decide(b, { credential: 'hub', servername: 'new', userId: '3', flavor: { name: 'small', max: 3, maxPerUser: -1 }, userMax: -1, ...over });
  assert.deepEqual(ask(), { ok: true });
  const full = ask({ flavor: { name: 'small', max: 2, maxPerUser: -1 } });
  assert.equal(full.ok, false);
  assert.ok(!full.ok && full.reason === 'flavor_full' && full.message === 'No capacity left for flavor small: 2 of 2 running');
  assert.ok(!full.ok && full.detail === 'credential hub, flavor small: 2 of 2 running; user 3: 0 of unlimited of this flavor, 0 of unlimited in all');
  const perFlavor = ask({ userId: '1', flavor: { name: 'small', max: -1, maxPerUser: 1 } });
  assert.ok(!perFlavor.ok && perFlavor.reason === 'user_flavor_full' && perFlavor.message === 'You already run 1 of at most 1 services of flavor small');
  const overall = ask({ userId: '1', userMax: 2 });
  assert.ok(!overall.ok && overall.reason === 'user_full' && overall.message === 'You already run 2 of at most 2 services');
  const closed = ask({ flavor: { name: 'small', max: 0, maxPerUser: -1 } });
  assert.ok(!closed.ok && closed.reason === 'closed');
  const notForYou = ask({ flavor: { name: 'small', max: -1, maxPerUser: 0 } });
  assert.ok(!notForYou.ok && notForYou.message === 'Flavor small is not available to you');
  // A start of a servername that already has one takes its place: a has the only slot of user 1's small.
  assert.deepEqual(ask({ servername: 'a', userId: '1', flavor: { name: 'small', max: 2, maxPerUser: 1 } }), { ok: true });
});

test('aged keys: older than the grace time, or with a broken date', () => {
  const b = book([['a', '1', 's', '1', '2030-01-01T00:00:00.000Z'], ['b', '1', 's', '1', '2030-01-01T00:00:50.000Z'], ['c', '1', 's', '1', 'garbage']]);
  assert.deepEqual(agedKeys(b, Date.parse('2030-01-01T00:01:01.000Z'), 60_000).sort(), ['a.1', 'c.1']);
});
