// End to end with a real JupyterHub (6.1.1) and the unmodified OutpostSpawner
// (jupyterhub-outpostspawner 2.2.13 from PyPI) against one K8s Manager's Outpost
// API on the real control plane: users log in and start named servers through
// the hub's REST API as their browser does; a real jupyterhub-singleuser answers
// for the Running pod, reached through the hub's proxy (test/e2e/outpost-site.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Site, journeys, progressStream, leftovers, managerEnv, kubeconfigPath, namespace, configPath } from './outpost-site.js';
import { waitFor } from '../helpers/cluster.js';
import { startManager } from '../helpers/manager.js';

describe('OutpostSpawner against one manager', () => {
  const site = new Site();
  before(async () => site.up(1));
  after(async () => site.down());

  journeys(site, 'o');

  test('o4 a failing service: the start fails with the cause the hub shows, and nothing is left', async () => {
    const u = await site.user('ofour');
    await site.spawn(u, 'bad', { profile: 'fail' });
    const stream = await progressStream(u, 'bad');
    const id = await site.userId(u);
    // On the progress page: "Exception: bad - <our words> - <pre>events and log tail</pre>".
    // OutpostSpawner turns the 419 into its "Start failed: <our args>" event.
    const failed = stream.find((e) => /bad - /.test(`${e.message ?? ''} ${e.html_message ?? ''}`));
    assert.ok(failed, `the failure on the hub's progress stream: ${JSON.stringify(stream, null, 1)}${site.logs()}`);
    const words = `${failed.message ?? ''} ${failed.html_message ?? ''}`;
    assert.match(words, /bad - Service status is in state terminated|bad - Service cannot start|bad - Service status is Failed/, words);
    assert.match(words, /Events:[\s\S]*BackOff/, words);
    assert.ok(stream.at(-1)?.failed, `the stream ends failed: ${JSON.stringify(stream.at(-1))}`);
    await site.waitGone(u, 'bad');
    await site.nothingLeft(id);
  });

  test('o5 an async start (execution-type: async): 202, then the address through the hub\'s SetupTunnel API', async () => {
    const u = await site.user('ofive');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab', { profile: 'slow', async: '1' })));
    const id = await site.userId(u);
    await site.waitReady(u, 'lab');
    const tunnel = await waitFor(async () => site.answers(u, 'lab').find((a) => a.kind === 'setuptunnel') ?? false, { what: 'the SetupTunnel call', timeoutMs: 20_000 })
      .catch((err: Error) => assert.fail(`${err.message}${site.logs()}`));
    assert.match(tunnel.value, /^svc-lab-[0-9a-f]{8}-[0-9a-f]{8}\..+:[0-9]+$/, tunnel.value);
    const response = site.answers(u, 'lab').find((a) => a.kind === 'start_response');
    assert.equal(response?.value, '', 'an async start answers an empty service');
    await site.staysReady(u, 'lab', 3_000);
    await site.stop(u, 'lab');
    await site.nothingLeft(id);

    // An async start that fails: the manager's cause on the progress page, then its failed event
    // (or the hub's poll) ends the spawn; the hub stops it and nothing is left.
    await site.spawn(u, 'bad', { profile: 'fail', async: '1' });
    const stream = await progressStream(u, 'bad');
    const cause = stream.find((e) => /Service status is in state terminated|Service cannot start|Service status is Failed/.test(e.html_message ?? ''));
    assert.ok(cause, `the cause on the hub's progress stream: ${JSON.stringify(stream, null, 1)}${site.logs()}`);
    assert.match(cause.html_message ?? '', /Events:/);
    await site.waitGone(u, 'bad');
    await site.nothingLeft(id);
  });

  test('o6 the hub restarted with a running server: it keeps running and polling', async () => {
    const u = await site.user('osix');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    const id = await site.userId(u);
    await site.waitReady(u, 'lab');
    await site.hub!.stop();
    await site.startHub(site.url, site.hub!.state);
    const again = await site.user('osix');
    await site.staysReady(again, 'lab', 3_000);
    const version = await fetch(`${site.hub!.url}/user/osix/lab/api`);
    assert.equal(version.status, 200);
    await site.stop(again, 'lab');
    await site.waitGone(again, 'lab');
    await site.nothingLeft(id);
  });

  test('o7 the manager killed (SIGKILL) in the middle of a spawn: the start ends cleanly, the next works', async () => {
    const u = await site.user('oseven');
    await site.spawn(u, 'lab', { profile: 'veryslow' });
    const id = await site.userId(u);
    await waitFor(async () => (await leftovers(id)).some((n) => n.startsWith('Pod/')), { what: 'the pod created', timeoutMs: 30_000 });
    const old = site.managers[0]!;
    await old.kill('SIGKILL');
    // The hub's start request broke: the spawn failed in the hub.
    await site.waitGone(u, 'lab', 60_000);
    const port = new URL(old.url).port;
    site.managers[0] = await startManager({ kubeconfigPath, namespace, configPath, env: { ...managerEnv('outpost-1-0'), PORT: port } });
    // Nobody was told of that start: the restarted manager removes it (interrupted), never leaves it running.
    await site.nothingLeft(id, 60_000);
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    await site.waitReady(u, 'lab');
    await site.stop(u, 'lab');
    await site.nothingLeft(id);
  });
});
