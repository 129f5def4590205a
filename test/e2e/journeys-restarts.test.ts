// User journeys through a real JupyterHub (test/e2e/journeys.ts) in which a process dies
// mid-spawn: the hub killed and restarted with its database (j6), the manager killed and
// restarted (j7). Prints a table of the journeys.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/cluster.js';
import { startManager } from '../helpers/manager.js';
import { journey, journeys, managerEnv, Site } from './journeys.js';

const j = await journeys();

describe('one manager', () => {
  const site = new Site(j);
  before(async () => site.up(1));
  after(async () => site.down());

  journey('j6 the hub killed and restarted while a server starts', async () => {
    const u = await site.user('jsix');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab', 'jupyterlab/slow')));
    await waitFor(async () => (await j.deployments('jsix-lab')).length === 1, { what: 'the server created', timeoutMs: 30_000 });
    // Killed as a crashed process is; restarted as an operator restarts it: same database, same ports.
    // Killed before it stored the server's address, the hub polls (running), waits for the server at
    // an address it does not have until http_timeout (180 s here), and then stops it: a clean end too.
    site.hub!.child.kill('SIGKILL');
    await site.hub!.stop();
    await site.startHub(site.managers[0]!.url, site.hub!.state);
    const again = await site.user('jsix');
    // Ready, or cleanly stopped: never a server that runs while the hub has forgotten it.
    const end = await waitFor(async () => {
      const s = await site.server(again, 'lab');
      if (s?.ready) return 'ready';
      if (!s && (await j.deployments('jsix-lab')).length === 0) return 'stopped';
      return false;
    }, { what: 'the server ready, or stopped and removed', timeoutMs: 240_000, intervalMs: 500 }).catch((err: Error) => assert.fail(`${err.message}${site.logs()}`));
    console.log(`hub restart mid-spawn: the server ended ${end}`);
    if (end === 'ready') {
      await site.stop(again, 'lab');
      await site.waitGone(again, 'lab');
    }
    await site.nothingLeft('jsix-');
  }, { timeout: 330_000 });

  journey('j7 the manager killed and restarted while a server starts: polls stay right, progress resumes', async () => {
    const u = await site.user('jseven');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab', 'jupyterlab/slow')));
    await waitFor(async () => (await site.events(u, 'lab')).some((e) => /Kubernetes objects created|Pod scheduled/.test(e.html_message ?? '')), { what: 'first progress events', timeoutMs: 30_000 });
    const old = site.managers[0]!;
    await old.kill('SIGKILL');
    const port = new URL(old.url).port;
    site.managers[0] = await startManager({ kubeconfigPath: j.kubeconfigPath, namespace: j.namespace, configPath: j.configPath, env: { ...managerEnv('mgr-1-0'), PORT: port } });
    await site.waitReady(u, 'lab', 120_000);
    await site.staysReady(u, 'lab', 5_000);
    const summaries = (await site.events(u, 'lab')).map((e) => /<summary>(?:[0-9_: .]+: )?([^<]*)<\/summary>/.exec(e.html_message ?? '')?.[1] ?? '');
    assert.ok(summaries.includes('Service is ready'), `progress resumed after the restart: ${JSON.stringify(summaries)}`);
    assert.equal(new Set(summaries).size, summaries.length, `each step once: ${JSON.stringify(summaries)}`);
    await site.stop(u, 'lab');
    await site.nothingLeft('jseven-');
  });
});
