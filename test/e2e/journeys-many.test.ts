// Many users through a real JupyterHub (test/e2e/journeys.ts) at once (j9): every spawn
// accepted and ready, none failed, nothing left after the stops. Prints a table of the journeys.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { journey, journeys, Site } from './journeys.js';

const j = await journeys();

describe('one manager', () => {
  const site = new Site(j);
  before(async () => site.up(1));
  after(async () => site.down());

  // 20 users in the suite (each runs a real jupyterhub-singleuser on this 2-core machine);
  // K8SMGR_JOURNEY_USERS=50 for the 50.
  const many = Number(process.env.K8SMGR_JOURNEY_USERS ?? 20);
  journey(`j9 ${many} users spawn at once`, async () => {
    const users = await Promise.all(Array.from({ length: many }, (_, i) => site.user(`jmany${i}`)));
    const t0 = Date.now();
    const answers = await Promise.all(users.map((u) => site.spawn(u, 'lab')));
    assert.deepEqual(answers.filter((s) => s !== 201 && s !== 202), [], 'every spawn accepted');
    await Promise.all(users.map((u) => site.waitReady(u, 'lab', 240_000)));
    const seconds = (Date.now() - t0) / 1000;
    const failed = (await Promise.all(users.map((u) => site.events(u, 'lab')))).filter((events) => events.some((e) => e.failed));
    assert.equal(failed.length, 0);
    console.log(`${many} users: first click to last ready ${seconds.toFixed(1)} s`);
    await Promise.all(users.map((u) => site.stop(u, 'lab')));
    await site.nothingLeft('jmany', 180_000);
  }, { timeout: 420_000 });
});
