// User journeys 1-4 through a real JupyterHub (test/e2e/journeys.ts) against two manager
// replicas behind a real load balancer (HAProxy), so that consecutive requests of one
// journey hit different replicas; and r5, both replicas answering the same for a service
// that the other one stopped. Prints a table of the journeys.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/cluster.js';
import { basic, type ManagerProcess } from '../helpers/manager.js';
import { basicJourneys, journey, journeys, PASSWORD, Site } from './journeys.js';

const j = await journeys();

describe('two manager replicas behind HAProxy', () => {
  const site = new Site(j);
  before(async () => site.up(2));
  after(async () => site.down());
  basicJourneys(site, 'r');

  journey('r5 both replicas answer the same for a service the other one stopped', async () => {
    // Calls the manager as a hub would, without this site's hub: a server of the hub would be
    // polled, found stopped after the DELETE below and stopped again by the hub, and that stop
    // may meet the new start (it then wins, as it should; r2 walks that path through the hub).
    const servername = `rfive-${Date.now().toString(36)}`;
    const auth = { authorization: basic('jupyterhub', PASSWORD) };
    const [a, b] = site.managers as [ManagerProcess, ManagerProcess];
    const start = (m: ManagerProcess, startId: string) => fetch(`${m.url}/api/services/`, {
      method: 'POST',
      headers: { ...auth, uuidcode: servername, 'content-type': 'application/json' },
      body: JSON.stringify({ start_id: startId, user_options: { service: 'jupyterlab/default' }, env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:1/x', JUPYTERHUB_API_TOKEN: 't', JUPYTERHUB_USER_ID: 5 } }),
    });
    const answers = () => Promise.all([a, b].map(async (m) => (await (await fetch(`${m.url}/api/services/${servername}/`, { headers: auth })).json()) as { running: boolean; state: string }));
    const first = await start(a, 'r5first1');
    assert.equal(first.status, 201, await first.text());
    await waitFor(async () => (await answers()).every((x) => x.running), { what: 'both replicas to say running', timeoutMs: 60_000 });
    // Stop on replica A, start again at once on replica B; both answer "running" for the new start.
    assert.equal((await fetch(`${a.url}/api/services/${servername}/`, { method: 'DELETE', headers: auth })).status, 204);
    const restarted = await start(b, 'r5again1');
    assert.equal(restarted.status, 201, await restarted.text());
    for (let i = 0; i < 10; i++) {
      const seen = await answers();
      assert.deepEqual(seen.map((x) => x.running), [true, true], `replicas disagree or say stopped: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal((await fetch(`${a.url}/api/services/${servername}/`, { method: 'DELETE', headers: auth })).status, 204);
    await site.nothingLeft(servername);
  });
});

