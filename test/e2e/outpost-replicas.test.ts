// The Outpost journeys with two manager replicas behind HAProxy, so that a
// journey's requests hit different replicas, and 20 users at once against a
// flavor of max 5.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Site, journeys, CREDENTIAL, PASSWORD } from './outpost-site.js';
import { waitFor } from '../helpers/cluster.js';
import { basic } from '../helpers/manager.js';
import type { HubUser } from './hub.js';

describe('OutpostSpawner against two manager replicas behind HAProxy', () => {
  const site = new Site();
  before(async () => site.up(2));
  after(async () => site.down());

  journeys(site, 'p');

  test('p5 20 users start at once against a flavor of max 5, over two replicas: exactly 5 run, 15 are told why', { timeout: 360_000 }, async () => {
    const users = await Promise.all(Array.from({ length: 20 }, (_, i) => site.user(`pmany${i}`)));
    const answers = await Promise.all(users.map((u) => site.spawn(u, 'lab', { profile: 'lab', flavor: 'five' })));
    assert.deepEqual(answers.filter((s) => s !== 201 && s !== 202), [], 'every spawn accepted by the hub');
    const outcome = async (u: HubUser) => {
      const s = await site.server(u, 'lab');
      if (s?.ready) return 'ready';
      if (!s) return 'refused';
      return undefined;
    };
    const ends = await waitFor(async () => {
      const all = await Promise.all(users.map(outcome));
      return all.every((x) => x !== undefined) ? all : false;
    }, { what: 'every spawn ready or refused', timeoutMs: 180_000, intervalMs: 1000 }).catch((err: Error) => assert.fail(`${err.message}${site.logs()}`));
    assert.equal(ends.filter((e) => e === 'ready').length, 5, ends.join(','));
    const refusedLines = site.managers.flatMap((m) => m.output().split('\n').filter((l) => /start refused by flavor limits/.test(l) && /flavor=five/.test(l)));
    assert.equal(refusedLines.length, 15, refusedLines.join('\n'));
    // The hub was told why, in the Outpost's words, for each of the 15 (its spawner logs the 419 it shows).
    const told = new Set(site.hub!.output().split('\n').filter((l) => /Start with five for outposthub not allowed\. Maximum \(5\) already reached\./.test(l)).flatMap((l) => /(pmany[0-9]+):lab/.exec(l)?.[1] ?? []));
    assert.equal(told.size, 15, [...told].join(','));
    await Promise.all(users.filter((_, i) => ends[i] === 'ready').map((u) => site.stop(u, 'lab')));
    await site.nothingLeft(undefined, 120_000);
  });

  test('p4 both replicas answer a poll the same, and either one stops it', async () => {
    const u = await site.user('pfour');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    const id = await site.userId(u);
    await site.waitReady(u, 'lab');
    const { start_id: startId } = site.answers(u, 'lab').find((a) => a.kind === 'start_response')!;
    const auth = { authorization: basic(CREDENTIAL, PASSWORD) };
    const polls = await Promise.all(site.managers.map(async (m) => {
      const r = await fetch(`${m.url}/outpost/services/lab/${startId}`, { headers: auth });
      return `${r.status} ${await r.text()}`;
    }));
    assert.deepEqual(polls, ['200 {"status":null,"logs":[]}', '200 {"status":null,"logs":[]}']);
    // The second replica stops it; the first answers 404 at once (the hub reads that as stopped).
    const stopped = await fetch(`${site.managers[1]!.url}/outpost/services/lab/${startId}`, { method: 'DELETE', headers: auth });
    assert.equal(stopped.status, 200, await stopped.clone().text());
    const after = await fetch(`${site.managers[0]!.url}/outpost/services/lab/${startId}`, { headers: auth });
    assert.equal(after.status, 404);
    await site.waitGone(u, 'lab', 30_000);
    await site.nothingLeft(id);
  });
});
