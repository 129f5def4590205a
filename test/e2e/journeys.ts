// The user journeys of test/e2e/journeys*.test.ts: a real JupyterHub (EventBackendSpawner)
// in front of K8s Manager on the real control plane, driven through the hub's REST API
// exactly as a user's browser drives it. Each test file has its own namespace, hub and
// managers (a Site), so the files run side by side; each prints a table of its journeys.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic } from '../helpers/manager.js';
import { e2eManagerConfig, type HubUser } from './hub.js';
import { HubSite } from './site.js';

export const PASSWORD = 'journeys-hub-credential-pw';
export const OTHER_PASSWORD = 'journeys-other-hub-pw';
export const managerEnv = (replica: string) => ({ JUPYTERHUB_USER_PASS: PASSWORD, OTHERHUB_USER_PASS: OTHER_PASSWORD, POD_NAME: replica });

export type { HubEvent } from './site.js';

/** A test file's namespace and the manager's config in it. */
export interface Journeys {
  kc: k8s.KubeConfig;
  namespace: string;
  kubeconfigPath: string;
  configPath: string;
  core: k8s.CoreV1Api;
  objects: k8s.KubernetesObjectApi;
  /** Objects of users' services whose servername starts with `prefix` (the hub's servername is `<user>-<server>-<hash>`). */
  leftovers(prefix: string): Promise<string[]>;
  deployments(prefix: string): Promise<string[]>;
}

const KINDS: Array<[string, string]> = [['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Pod'], ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet']];
const results: Array<{ journey: string; result: string; seconds: number }> = [];

/** Call once at the top level of a test file: its namespace, the manager's config, and the table of journeys at the end. */
export async function journeys(): Promise<Journeys> {
  const { kc, namespace, kubeconfigPath } = await testNamespace();
  const configPath = e2eManagerConfig('journeys', ['jupyterhub', 'otherhub'], { services: { failed_cleanup_seconds: 5 } });
  const objectsApi = k8s.KubernetesObjectApi.makeApiClient(kc);
  async function leftovers(prefix: string): Promise<string[]> {
    const names: string[] = [];
    for (const [apiVersion, kind] of KINDS) {
      const list = await objectsApi.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, 'app.kubernetes.io/managed-by=k8smgr,k8smgr.io/servername');
      for (const item of list.items) {
        const server = item.metadata?.labels?.['k8smgr.io/servername'] ?? '';
        // Anchors of failed starts stay to answer polls; stop markers expire by themselves.
        if (server.startsWith(prefix) && item.metadata?.labels?.['k8smgr.io/role'] !== 'stop-marker') names.push(`${kind}/${item.metadata?.name}`);
      }
    }
    return names.sort();
  }
  after(() => {
    const width = Math.max(...results.map((r) => r.journey.length), 7);
    const lines = results.map((r) => `| ${r.journey.padEnd(width)} | ${r.result.padEnd(6)} | ${r.seconds.toFixed(1).padStart(7)} |`);
    console.log(`\nJourneys with a real JupyterHub:\n| ${'journey'.padEnd(width)} | result | seconds |\n|${'-'.repeat(width + 2)}|--------|---------|\n${lines.join('\n')}\n`);
  });
  return {
    kc, namespace, kubeconfigPath, configPath,
    core: kc.makeApiClient(k8s.CoreV1Api),
    objects: objectsApi,
    leftovers,
    deployments: async (prefix) => (await leftovers(prefix)).filter((n) => n.startsWith('Deployment/')),
  };
}

/** Runs one journey, timing it and noting the result for the table. */
export function journey(name: string, fn: () => Promise<void>, opts: { timeout?: number; todo?: string } = {}): void {
  test(name, { timeout: opts.timeout ?? 240_000, ...(opts.todo ? { todo: opts.todo } : {}) }, async () => {
    const t0 = Date.now();
    try {
      await fn();
      results.push({ journey: name, result: 'ok', seconds: (Date.now() - t0) / 1000 });
    } catch (err) {
      results.push({ journey: name, result: 'FAILED', seconds: (Date.now() - t0) / 1000 });
      throw err;
    }
  });
}

/** The journeys' site: a hub with the EventBackendSpawner (examples/jupyterhub_config.py). */
export class Site extends HubSite {
  constructor(readonly j: Journeys) {
    super({
      ...j,
      managerEnv,
      hubConfig: 'backend',
      hubEnv: (url) => ({ K8SMGR_URL: url, K8SMGR_CREDENTIAL: 'jupyterhub', K8SMGR_PASSWORD: PASSWORD, K8SMGR_DEFAULT_SERVICE: 'jupyterlab/default' }),
      eventsPath: (user, server) => `/users/progress/status/${user}/${server}`,
    });
  }

  async spawn(user: HubUser, server: string, service = 'jupyterlab/default'): Promise<number> {
    const r = await user.api('POST', `/users/${user.name}/servers/${server}`, { service });
    return r.status;
  }

  async nothingLeft(prefix: string, timeoutMs = 90_000): Promise<void> {
    await this.noneLeft(() => this.j.leftovers(prefix), `${prefix}*`, timeoutMs);
  }

  /** The manager's servername of the hub's server whose name starts with `prefix` (as the hub derives it). */
  async servername(prefix: string): Promise<string> {
    const res = await fetch(`${this.managers[0]!.url}/api/services/`, { headers: { authorization: basic('jupyterhub', PASSWORD) } });
    const name = ((await res.json()) as Array<{ servername: string }>).map((s) => s.servername).find((n) => n.startsWith(prefix));
    assert.ok(name, `no service of the manager starts with ${prefix}`);
    return name;
  }
}

/** Journeys 1-4, run against one manager and again against two replicas behind HAProxy. */
export function basicJourneys(site: Site, tag: string): void {
  journey(`${tag}1 spawn, ready, stop, nothing left`, async () => {
    const u = await site.user(`${tag}one`);
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    await site.waitReady(u, 'lab');
    await site.staysReady(u, 'lab', 3000);
    await site.stop(u, 'lab');
    await site.waitGone(u, 'lab');
    await site.nothingLeft(`${tag}one-`);
  });

  journey(`${tag}2 stop and start again at once, three times`, async () => {
    const u = await site.user(`${tag}two`);
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    await site.waitReady(u, 'lab');
    for (let round = 1; round <= 3; round++) {
      await site.stop(u, 'lab');
      const stoppedAt = Date.now();
      await site.waitGone(u, 'lab', 5_000);
      const status = await site.spawn(u, 'lab');
      const gap = Date.now() - stoppedAt;
      assert.ok([201, 202].includes(status), `round ${round}: start answered ${status}`);
      assert.ok(gap < 1000, `round ${round}: ${gap} ms between stop and start (the journey wants < 1 s)`);
      await site.waitReady(u, 'lab');
      // The bug this journey found: polls of the new start answered "stopping", and the hub dropped the server.
      await site.staysReady(u, 'lab', 5_000);
      const events = await site.events(u, 'lab');
      assert.ok(!events.some((e) => e.failed), `round ${round}: a failed event: ${JSON.stringify(events)}`);
    }
    assert.equal((await site.j.deployments(`${tag}two-`)).length, 1, (await site.j.deployments(`${tag}two-`)).join(','));
    await site.stop(u, 'lab');
    await site.nothingLeft(`${tag}two-`);
  });

  journey(`${tag}3 double click: two spawns at the same moment`, async () => {
    const u = await site.user(`${tag}three`);
    const answers = await Promise.all([site.spawn(u, 'lab'), site.spawn(u, 'lab')]);
    assert.ok(answers.some((s) => s === 201 || s === 202), `answers ${answers.join(',')}`);
    await site.waitReady(u, 'lab');
    await site.staysReady(u, 'lab', 3000);
    assert.ok(!(await site.events(u, 'lab')).some((e) => e.failed));
    assert.equal((await site.j.deployments(`${tag}three-`)).length, 1, 'one server');
    await site.stop(u, 'lab');
    await site.nothingLeft(`${tag}three-`);
  });

  journey(`${tag}4 stop while the pod is pending, and while the start request is on its way`, async () => {
    const u = await site.user(`${tag}four`);
    assert.ok([201, 202].includes(await site.spawn(u, 'slow', 'jupyterlab/slow')));
    await waitFor(async () => (await site.j.deployments(`${tag}four-slow`)).length === 1, { what: 'the slow server created', timeoutMs: 30_000 });
    const pending = await site.server(u, 'slow');
    assert.notEqual(pending?.ready, true, 'still pending when stopped');
    await site.stop(u, 'slow');
    await site.waitGone(u, 'slow');
    await site.nothingLeft(`${tag}four-slow`);

    // Start and stop in one breath: the stop reaches the manager while the start is still on its way.
    const [started, stopped] = await Promise.all([
      site.spawn(u, 'quick'),
      new Promise((r) => setTimeout(r, 30)).then(() => u.api('DELETE', `/users/${u.name}/servers/quick`)),
    ]);
    assert.ok([201, 202].includes(started), `start answered ${started}`);
    assert.ok([202, 204, 400].includes(stopped.status), `stop answered ${stopped.status} ${stopped.text}`);
    if (stopped.status === 400) {
      // The hub refused a stop of a spawn it had not begun yet: the user clicks stop again.
      await waitFor(async () => [202, 204].includes((await u.api('DELETE', `/users/${u.name}/servers/quick`)).status) || !(await site.server(u, 'quick')), { what: 'the stop accepted', timeoutMs: 30_000 });
    }
    await site.waitGone(u, 'quick');
    // Nothing may run that the hub believes stopped.
    await new Promise((r) => setTimeout(r, 3000));
    await site.nothingLeft(`${tag}four-quick`);
  });
}
