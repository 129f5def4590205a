// End to end with a real JupyterHub: users log in (dummy authenticator) and
// start servers through the hub's REST API; the hub's EventBackendSpawner
// (jupyterhub-backendspawner, configured by examples/jupyterhub_config.py)
// calls K8s Manager, which starts the service on the real control plane and
// reports progress to the hub; a real jupyterhub-singleuser answers for the
// Running pod (test/e2e/singleuser.ts), reached through the hub's proxy.
// Never skips: a hub or venv that cannot start fails the test with the reason.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { startManager, type ManagerProcess } from '../helpers/manager.js';
import { chpPath, e2eManagerConfig, hubVenv, startHub, HubUser, type HubProcess } from './hub.js';
import { startSingleUserResponder, type SingleUserResponder } from './singleuser.js';

const { kc, namespace, kubeconfigPath } = await testNamespace();
// Flavors (docs/flavors.md): unlimited by default, and one that holds a single server.
const configPath = e2eManagerConfig('e2e', ['jupyterhub'], {
  flavors: { jupyterhub: { default: 'standard', flavors: { standard: { max: -1 }, tiny: { max: 1, display_name: 'Tiny' } } } },
});
const PASSWORD = 'e2e-hub-credential-pw';

let manager: ManagerProcess | undefined;
let responder: SingleUserResponder | undefined;
let hub: HubProcess | undefined;

before(async () => {
  const venv = await hubVenv();
  chpPath();
  manager = await startManager({ kubeconfigPath, namespace, configPath, env: { JUPYTERHUB_USER_PASS: PASSWORD } });
  responder = await startSingleUserResponder({ kc, namespace, venv });
  hub = await startHub({
    venv,
    env: { K8SMGR_URL: manager.url, K8SMGR_CREDENTIAL: 'jupyterhub', K8SMGR_PASSWORD: PASSWORD, K8SMGR_DEFAULT_SERVICE: 'jupyterlab/default' },
  });
});

after(async () => {
  await hub?.stop();
  await responder?.stop();
  await manager?.kill('SIGTERM');
  if (process.env.K8SMGR_E2E_VERBOSE === '1') {
    console.log(`--- hub\n${hub?.output()}\n--- manager\n${manager?.output()}\n--- single-user servers\n${responder?.output()}`);
  }
});

/** What went on, for assertion messages. */
function logs(): string {
  const tail = (s: string | undefined) => (s ?? '').split('\n').slice(-60).join('\n');
  return `\n--- hub (tail)\n${tail(hub?.output())}\n--- manager (tail)\n${tail(manager?.output())}\n--- single-user (tail)\n${tail(responder?.output())}`;
}

const KINDS: Array<[string, string]> = [['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Pod'], ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet']];
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
/** Objects of users' services (the manager's own credentials and logging objects live here too and stay). */
async function managedObjects(): Promise<string[]> {
  const names: string[] = [];
  for (const [apiVersion, kind] of KINDS) {
    const list = await objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, 'app.kubernetes.io/managed-by=k8smgr,k8smgr.io/servername');
    // Stop markers (a stop that found nothing, docs/services.md) expire by themselves: not a service's object.
    for (const item of list.items) if (item.metadata?.labels?.['k8smgr.io/role'] !== 'stop-marker') names.push(`${kind}/${item.metadata?.name}`);
  }
  return names.sort();
}

interface HubEvent { progress?: number; failed?: boolean; html_message?: string }
async function spawnEvents(user: HubUser, server: string): Promise<HubEvent[]> {
  const r = await user.api('GET', `/users/progress/status/${user.name}/${server}`);
  assert.equal(r.status, 200, `spawn events of ${user.name}/${server}: ${r.status} ${r.text}`);
  return (r.body as { events: HubEvent[] }).events;
}
const summaryOf = (e: HubEvent) => /<summary>(?:[0-9_: .]+: )?([^<]*)<\/summary>/.exec(e.html_message ?? '')?.[1] ?? e.html_message ?? '';

/** Runs a test's body; if it fails, stops the user's server so that the next test starts from an empty namespace. */
async function stoppingOnFailure(user: HubUser, server: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    await user.api('DELETE', `/users/${user.name}/servers/${server}`).catch(() => undefined);
    await waitFor(async () => (await managedObjects()).length === 0, { what: 'the failed test\'s objects gone', timeoutMs: 60_000 }).catch(() => undefined);
    throw err;
  }
}

test('a user starts a server through the hub: progress in order, reachable through the proxy, stopped without leftovers', async () => {
  assert.ok(hub && manager && responder);
  const alice = new HubUser(hub.url, 'alice');
  await alice.login().catch((err: Error) => assert.fail(`${err.message}${logs()}`));
  await stoppingOnFailure(alice, 'lab', async () => {
    const started = await alice.api('POST', '/users/alice/servers/lab', { service: 'jupyterlab/default' });
    assert.ok(started.status === 201 || started.status === 202, `start answered ${started.status} ${started.text}${logs()}`);

    const ready = await waitFor(async () => {
      const r = await alice.api('GET', '/users/alice');
      const server = (r.body as { servers?: Record<string, { ready?: boolean; pending?: string | null; url?: string }> } | undefined)?.servers?.lab;
      return server?.ready ? server : false;
    }, { what: "alice's server ready in the hub", timeoutMs: 180_000, intervalMs: 500 }).catch((err: Error) => {
      throw new Error(`${err.message}${logs()}`);
    });
    assert.equal(ready.url, '/user/alice/lab/');

    // The user's requests reach the single-user server through the hub's proxy:
    // /api answers without a login, /api/status needs a token that the server checks with the hub.
    const version = await fetch(`${hub!.url}/user/alice/lab/api`);
    assert.equal(version.status, 200, `through the proxy: ${await version.clone().text()}`);
    assert.ok(typeof ((await version.json()) as { version?: unknown }).version === 'string');
    const token = await alice.api('POST', '/users/alice/tokens', { note: 'e2e' });
    assert.equal(token.status, 201, token.text);
    const status = await fetch(`${hub!.url}/user/alice/lab/api/status`, { headers: { authorization: `token ${(token.body as { token: string }).token}` } });
    assert.equal(status.status, 200, await status.clone().text());
    assert.equal(responder!.running().length, 1);

    // The hub keeps polling while the pod runs, and the server stays ready; the manager's log shows the polls.
    const pollLines = () => manager!.output().split('\n').filter((l) => l.includes('action=poll') && l.includes('status=200') && l.includes('credential=jupyterhub'));
    const before = pollLines().length;
    await waitFor(async () => pollLines().length >= before + 2, { what: 'two more polls of the hub in the manager log', timeoutMs: 60_000 })
      .catch((err: Error) => assert.fail(`${err.message}${logs()}`));
    const still = await alice.api('GET', '/users/alice');
    assert.equal((still.body as { servers: Record<string, { ready: boolean }> }).servers.lab?.ready, true);

    // Progress: the hub's own events (10, 30), then K8s Manager's, in order, ending with "ready".
    const events = await spawnEvents(alice, 'lab');
    const progress = events.map((e) => e.progress ?? 0);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), `progress in order: ${JSON.stringify(events, null, 1)}`);
    assert.ok(!events.some((e) => e.failed), JSON.stringify(events));
    const summaries = events.map(summaryOf);
    const created = summaries.indexOf('Kubernetes objects created');
    const readyAt = summaries.indexOf('Service is ready');
    assert.ok(created > 0 && readyAt > created, `manager events missing or out of order: ${JSON.stringify(summaries)}`);
    assert.ok(summaries.indexOf('Backend communication successful.') < created, JSON.stringify(summaries));
    // One event per step: no summary twice.
    assert.equal(new Set(summaries).size, summaries.length, JSON.stringify(summaries));
    assert.ok((await managedObjects()).some((n) => n.startsWith('Deployment/depl-alice-lab-')), (await managedObjects()).join(','));

    const stop = await alice.api('DELETE', '/users/alice/servers/lab');
    assert.ok(stop.status === 202 || stop.status === 204, `stop answered ${stop.status} ${stop.text}`);
    await waitFor(async () => {
      const r = await alice.api('GET', '/users/alice');
      return !(r.body as { servers?: Record<string, unknown> }).servers?.lab;
    }, { what: "alice's server gone from the hub", timeoutMs: 60_000 });
    await waitFor(async () => (await managedObjects()).length === 0, { what: 'nothing of the service left in the namespace', timeoutMs: 120_000 })
      .catch(async (err: Error) => assert.fail(`${err.message}: ${(await managedObjects()).join(', ')}${logs()}`));
    await waitFor(async () => responder!.running().length === 0, { what: 'the single-user server stopped', timeoutMs: 30_000 });
  });
});

test("a second user's failing service: the hub marks the spawn failed with the manager's reason", async () => {
  assert.ok(hub && manager);
  const bob = new HubUser(hub.url, 'bob');
  await bob.login().catch((err: Error) => assert.fail(`${err.message}${logs()}`));
  const started = await bob.api('POST', '/users/bob/servers/lab', { service: 'jupyterlab/fail' });
  assert.ok(started.status === 201 || started.status === 202, `start answered ${started.status} ${started.text}${logs()}`);

  const events = await waitFor(async () => {
    const list = await spawnEvents(bob, 'lab');
    return list.some((e) => e.failed) ? list : false;
  }, { what: 'a failed spawn event for bob', timeoutMs: 120_000, intervalMs: 500 }).catch((err: Error) => {
    throw new Error(`${err.message}${logs()}`);
  });
  const failed = events.find((e) => e.failed) as HubEvent;
  assert.equal(failed.progress, 100);
  // The manager's message: the poll reason, the pod's events and the log tail.
  assert.match(failed.html_message ?? '', /Service status is in state terminated|Service cannot start|Service status is Failed/, JSON.stringify(failed));
  assert.match(failed.html_message ?? '', /Events:/);
  assert.match(failed.html_message ?? '', /BackOff/);

  // The hub stopped the server (and told the manager): nothing runs, nothing is left.
  await waitFor(async () => {
    const r = await bob.api('GET', '/users/bob');
    const server = (r.body as { servers?: Record<string, { ready?: boolean }> }).servers?.lab;
    return !server;
  }, { what: "bob's failed server gone from the hub", timeoutMs: 60_000 });
  await waitFor(async () => (await managedObjects()).length === 0, { what: "nothing of bob's service left in the namespace", timeoutMs: 120_000 })
    .catch(async (err: Error) => assert.fail(`${err.message}: ${(await managedObjects()).join(', ')}${logs()}`));
  // The last event the user sees is the failure itself.
  const final = await spawnEvents(bob, 'lab');
  assert.ok(final.at(-1)?.failed, JSON.stringify(final.at(-1)));
});

test('a start over a flavor\'s capacity: the hub shows the manager\'s words and nothing is created', async () => {
  assert.ok(hub && manager);
  const carol = new HubUser(hub.url, 'carol');
  const dave = new HubUser(hub.url, 'dave');
  await carol.login();
  await dave.login();
  const first = await carol.api('POST', '/users/carol/servers/lab', { service: 'jupyterlab/default', flavor: 'tiny' });
  assert.ok(first.status === 201 || first.status === 202, `${first.status} ${first.text}`);
  await waitFor(async () => {
    const r = await carol.api('GET', '/users/carol');
    return (r.body as { servers?: Record<string, { ready?: boolean }> }).servers?.lab?.ready === true;
  }, { what: "carol's tiny server ready", timeoutMs: 120_000, intervalMs: 500 }).catch((err: Error) => assert.fail(`${err.message}${logs()}`));

  const second = await dave.api('POST', '/users/dave/servers/lab', { service: 'jupyterlab/default', flavor: 'tiny' });
  // The hub answers the spawn request before the manager refuses it; the refusal arrives as the spawn's failure.
  assert.ok([201, 202, 500].includes(second.status), `${second.status} ${second.text}`);
  const failed = await waitFor(async () => (await spawnEvents(dave, 'lab')).find((e) => e.failed) ?? false,
    { what: "dave's spawn failed with the capacity message", timeoutMs: 60_000, intervalMs: 300 }).catch((err: Error) => assert.fail(`${err.message}${logs()}`));
  assert.match(failed.html_message ?? '', /No capacity left for flavor tiny/, JSON.stringify(failed));
  await waitFor(async () => !(await dave.api('GET', '/users/dave')).body?.servers?.lab, { what: "dave's server gone from the hub", timeoutMs: 30_000 });
  assert.ok(!(await managedObjects()).some((n) => n.includes('dave')), (await managedObjects()).join(','));

  assert.ok([202, 204].includes((await carol.api('DELETE', '/users/carol/servers/lab')).status));
  await waitFor(async () => (await managedObjects()).length === 0, { what: 'nothing left', timeoutMs: 120_000 });
});
