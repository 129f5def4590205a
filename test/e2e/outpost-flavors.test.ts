// Flavors through a real JupyterHub with the OutpostSpawner: the hub's flavor
// view filled by the manager's pushes, the Outpost's words for a start over a
// limit, and rules on the identity the hub sends (auth_state from the manager's
// /outpost/userflavors through the spawner's own helper).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Site, progressStream, leftovers, FLAVORS_TOKEN } from './outpost-site.js';
import { waitFor } from '../helpers/cluster.js';

describe('flavors through the OutpostSpawner\'s hub', () => {
  const site = new Site();
  before(async () => site.up(1));
  after(async () => site.down());

  test('f1 the hub\'s /hub/api/outpostflavors shows the usage after a start and after a stop (pushed with the hub\'s flavors token)', async () => {
    const u = await site.user('fone');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab', { profile: 'lab', flavor: 'tiny' })));
    await site.waitReady(u, 'lab');
    await waitFor(async () => (await site.hubFlavors(u)).k8smgr?.tiny?.current === 1, { what: 'tiny at 1 in the hub', timeoutMs: 20_000 })
      .catch(async (err: Error) => assert.fail(`${err.message}: ${JSON.stringify(await site.hubFlavors(u))}${site.logs()}`));
    const seen = (await site.hubFlavors(u)).k8smgr!;
    assert.deepEqual(Object.keys(seen).sort(), ['five', 'standard', 'tiny'], 'the hub\'s offer, not a user\'s');
    assert.equal(seen.tiny?.max, 1);
    await site.stop(u, 'lab');
    await site.waitGone(u, 'lab');
    await waitFor(async () => (await site.hubFlavors(u)).k8smgr?.tiny?.current === 0, { what: 'tiny back at 0 in the hub', timeoutMs: 20_000 });
    assert.ok(!site.managers[0]!.output().includes(FLAVORS_TOKEN), 'the flavors token reached the manager\'s log');
  });

  test('f2 a start over a flavor\'s max: the hub\'s page shows the Outpost\'s words, nothing is created', async () => {
    const [a, b] = await Promise.all([site.user('ftwoa'), site.user('ftwob')]);
    assert.ok([201, 202].includes(await site.spawn(a, 'lab', { profile: 'lab', flavor: 'tiny' })));
    await site.waitReady(a, 'lab');
    await site.spawn(b, 'lab', { profile: 'lab', flavor: 'tiny' });
    const stream = await progressStream(b, 'lab');
    const idB = await site.userId(b);
    const words = stream.map((e) => `${e.message ?? ''} ${e.html_message ?? ''}`).join('\n');
    assert.match(words, /lab - Start with tiny for outposthub not allowed\. Maximum \(1\) already reached\./, words);
    await site.waitGone(b, 'lab');
    assert.deepEqual(await leftovers(idB), []);
    await site.stop(a, 'lab');
    await site.nothingLeft(await site.userId(a));
  });

  test('f3 a user whose groups forbid every flavor is refused; a gpu user gets gpu, others do not', async () => {
    const blocked = await site.user('blockedeve');
    await site.spawn(blocked, 'lab', { profile: 'lab', flavor: 'standard' });
    const stream = await progressStream(blocked, 'lab');
    const words = stream.map((e) => `${e.message ?? ''} ${e.html_message ?? ''}`).join('\n');
    assert.match(words, /lab - Start with flavor standard not allowed\. Allowed values for user: \[\]/, words);
    await site.waitGone(blocked, 'lab');
    assert.deepEqual(await leftovers(await site.userId(blocked)), []);
    // The user's own view, from the manager's /userflavors at login, is what the hub shows them.
    assert.deepEqual((await site.hubFlavors(blocked)).k8smgr, {});

    const gpu = await site.user('gpugus');
    assert.deepEqual(Object.keys((await site.hubFlavors(gpu)).k8smgr ?? {}).sort(), ['gpu', 'standard']);
    assert.ok([201, 202].includes(await site.spawn(gpu, 'lab', { profile: 'lab', flavor: 'gpu' })));
    await site.waitReady(gpu, 'lab');
    const other = await site.user('fthree');
    await site.spawn(other, 'lab', { profile: 'lab', flavor: 'gpu' });
    const refused = (await progressStream(other, 'lab')).map((e) => `${e.message ?? ''} ${e.html_message ?? ''}`).join('\n');
    assert.match(refused, /Start with flavor gpu not allowed\. Allowed values for user: \['five', 'standard', 'tiny'\]/, refused);
    await site.waitGone(other, 'lab');
    await site.stop(gpu, 'lab');
    await site.nothingLeft(await site.userId(gpu));
  });
});
