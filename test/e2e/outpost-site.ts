// The Outpost end-to-end tests' shared part (test/e2e/outpost*.test.ts): a
// namespace and a manager config of their own per test file, a site (a real
// JupyterHub 6.1.1 with the unmodified OutpostSpawner 2.2.13, the single-user
// stand-ins, and one manager or several behind HAProxy), and the journeys run
// against one manager and against two replicas. The hub config is
// examples/jupyterhub_outpost_config.py; the test's additions
// (test/e2e/jupyterhub_outpost_test_config.py) only use the spawner's own hooks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic } from '../helpers/manager.js';
import { e2eManagerConfig, type HubUser } from './hub.js';
import { HubSite, type HubEvent } from './site.js';

export const { kc, namespace, kubeconfigPath } = await testNamespace();
export const CREDENTIAL = 'outposthub';
export const PASSWORD = 'outpost-e2e-credential-pw';
export const configPath = e2eManagerConfig('outpost-e2e', [CREDENTIAL], {
  // Flavors: a default for starts without one, one that holds a single server, one of five for the
  // concurrent starts, and gpu only for the gpu group (a rule on the identity the hub sends); blocked: none.
  flavors: {
    [CREDENTIAL]: {
      default: 'standard',
      flavors: { standard: { max: -1 }, tiny: { max: 1, display_name: 'Tiny' }, five: { max: 5 }, gpu: { max: 2 } },
      offer: { flavors: ['standard', 'tiny', 'five'] },
      rules: [
        { name: 'gpu', match: { groups: ['gpu'] }, flavors: ['standard', 'gpu'] },
        { name: 'blocked', match: { groups: ['blocked'] }, forbidden: true },
      ],
    },
  },
  // The hub's profile picks the template; a start without one gets the default.
  outpost: {
    ready_timeout_seconds: 15,
    credentials: {
      [CREDENTIAL]: {
        option_key: 'profile',
        options: { lab: 'jupyterlab/default', slow: 'jupyterlab/slow', veryslow: 'jupyterlab/veryslow', fail: 'jupyterlab/fail' },
        default_service: 'jupyterlab/default',
      },
    },
  },
});
export const managerEnv = (replica: string) => ({ OUTPOSTHUB_USER_PASS: PASSWORD, POD_NAME: replica });
export const FLAVORS_TOKEN = 'e2e-hub-flavors-token-3b8d0c';
/** auth_state (the user's identity for flavor rules) is encrypted in the hub's database. */
export const CRYPT_KEY = 'a'.repeat(64);

const objectsApi = k8s.KubernetesObjectApi.makeApiClient(kc);
const KINDS: Array<[string, string]> = [['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Pod'], ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet']];

/** Objects of users' services of this hub user (the user id label), or of everyone. */
export async function leftovers(userId?: number): Promise<string[]> {
  const names: string[] = [];
  const selector = `app.kubernetes.io/managed-by=k8smgr,k8smgr.io/servername${userId !== undefined ? `,k8smgr.io/user-id=${userId}` : ''}`;
  for (const [apiVersion, kind] of KINDS) {
    const list = await objectsApi.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector);
    for (const item of list.items) if (item.metadata?.labels?.['k8smgr.io/role'] !== 'stop-marker') names.push(`${kind}/${item.metadata?.name}`);
  }
  return names.sort();
}

export type { HubEvent } from './site.js';
export interface Answer { kind: string; user: string; user_id: number; server: string; start_id: string; value: string }

export const summaryOf = (e: HubEvent) => /<summary>(?:[0-9_: .-]+: )?([^<]*)<\/summary>/.exec(e.html_message ?? '')?.[1] ?? e.message ?? '';

/** The Outpost tests' site: a hub with the OutpostSpawner (examples/jupyterhub_outpost_config.py). */
export class Site extends HubSite {
  constructor() {
    super({
      kc, namespace, kubeconfigPath, configPath, managerEnv,
      hubConfig: 'outpost',
      hubEnv: (url) => ({
        K8SMGR_URL: url, K8SMGR_CREDENTIAL: CREDENTIAL, K8SMGR_PASSWORD: PASSWORD,
        // The hub's token for the manager's usage pushes (scope custom:outpostflavors:set, examples/jupyterhub_outpost_config.py).
        K8SMGR_FLAVORS_TOKEN: FLAVORS_TOKEN,
        JUPYTERHUB_CRYPT_KEY: CRYPT_KEY,
      }),
      // forwardbasespawner's events API.
      eventsPath: (user, server) => `/users/progress/events/${user}/${server}`,
    });
  }

  override async up(replicas: number): Promise<void> {
    await super.up(replicas, (i) => `outpost-${replicas}-${i}`);
  }

  /** The hub's id of a user who spawned (recorded by the test config's pre_spawn_hook). */
  async userId(user: HubUser): Promise<number> {
    const spawned = await waitFor(async () => this.answers(user).find((a) => a.kind === 'spawn') ?? false, { what: `${user.name}'s first spawn`, timeoutMs: 30_000 });
    return spawned.user_id;
  }

  async spawn(user: HubUser, server: string, options: Record<string, string> = { profile: 'lab' }): Promise<number> {
    return (await user.api('POST', `/users/${user.name}/servers/${server}`, options)).status;
  }

  /** Nothing of this hub user (the user id label), or of anyone, is left in the namespace. */
  async nothingLeft(userId?: number, timeoutMs = 90_000): Promise<void> {
    await this.noneLeft(() => leftovers(userId), `user ${userId ?? '(any)'}`, timeoutMs);
  }

  /** What the hub's hooks recorded of the manager's answers (start responses, SetupTunnel bodies). */
  answers(user: HubUser, server?: string): Answer[] {
    const file = path.join(this.hub!.state.dir, 'outpost-answers.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Answer).filter((a) => a.user === user.name && (server === undefined || a.server === server));
  }

  /** The hub's flavor view (GET /hub/api/outpostflavors): what the manager pushed, as a user sees it. */
  async hubFlavors(user: HubUser): Promise<Record<string, Record<string, { current: number; max: number }>>> {
    const r = await user.api('GET', '/outpostflavors');
    assert.equal(r.status, 200, r.text);
    return r.body as Record<string, Record<string, { current: number; max: number }>>;
  }

  /** The manager's services of the Outpost API (GET <base>/services/ as the hub's credential). */
  async listed(): Promise<Array<{ name: string; start_id: string; jupyterhub_userid: string }>> {
    const r = await fetch(`${this.url}/outpost/services/`, { headers: { authorization: basic(CREDENTIAL, PASSWORD) } });
    assert.equal(r.status, 200);
    return (await r.json()) as Array<{ name: string; start_id: string; jupyterhub_userid: string }>;
  }
}

/** Reads the hub's progress stream (server-sent events) of a pending spawn until it ends. */
export async function progressStream(user: HubUser, server: string): Promise<HubEvent[]> {
  const r = await user.api('GET', `/users/${user.name}/servers/${server}/progress`, undefined, { accept: 'text/event-stream' });
  assert.equal(r.status, 200, r.text);
  return r.text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)) as HubEvent);
}

export function journeys(site: Site, tag: string): void {
  test(`${tag}1 spawn to ready through the proxy, with the manager's progress on the hub's stream; polls; stop leaves nothing`, async () => {
    const u = await site.user(`${tag}one`);
    assert.ok([201, 202].includes(await site.spawn(u, 'lab', { profile: 'slow' })));
    const stream = await progressStream(u, 'lab');
    const id = await site.userId(u);
    await site.waitReady(u, 'lab');
    const summaries = stream.map(summaryOf);
    const created = summaries.indexOf('Kubernetes objects created');
    const ready = summaries.indexOf('Service is ready');
    assert.ok(created >= 0 && ready > created, `the manager's events on the hub's progress stream, in order: ${JSON.stringify(summaries)}${site.logs()}`);
    assert.ok(summaries.includes('Pod scheduled'), JSON.stringify(summaries));
    assert.ok(!stream.some((e) => e.failed), JSON.stringify(stream));

    // The manager answered the Service its template made, at the hub's port: host:port, no path.
    const [answer] = site.answers(u, 'lab').filter((a) => a.kind === 'start_response');
    assert.ok(answer, 'the start response was recorded');
    assert.match(answer.value, new RegExp(`^svc-lab-[0-9a-f]{8}-[0-9a-f]{8}\\.${namespace}\\.svc\\.cluster\\.local:[0-9]+$`), answer.value);
    const listed = (await site.listed()).find((s) => s.name === 'lab' && s.jupyterhub_userid === String(id));
    assert.equal(listed?.start_id, answer.start_id);

    // Through the hub's proxy to the single-user server, which checks its token with the hub.
    const version = await fetch(`${site.hub!.url}/user/${u.name}/lab/api`);
    assert.equal(version.status, 200, await version.clone().text());
    const token = await u.api('POST', `/users/${u.name}/tokens`, { note: 'e2e' });
    const status = await fetch(`${site.hub!.url}/user/${u.name}/lab/api/status`, { headers: { authorization: `token ${(token.body as { token: string }).token}` } });
    assert.equal(status.status, 200, await status.clone().text());

    // The hub polls (every 2 s here) and the server stays ready.
    const polls = () => site.managers.reduce((n, m) => n + m.output().split('\n').filter((l) => l.includes('action=poll') && l.includes('status=200') && l.includes(`start_id=${answer.start_id}`)).length, 0);
    const before = polls();
    await waitFor(async () => polls() >= before + 2, { what: 'two polls of the hub', timeoutMs: 30_000 }).catch((err: Error) => assert.fail(`${err.message}${site.logs()}`));
    await site.staysReady(u, 'lab', 2_000);

    await site.stop(u, 'lab');
    await site.waitGone(u, 'lab');
    await site.nothingLeft(id);
    assert.ok(!(await site.listed()).some((s) => s.start_id === answer.start_id));
  });

  test(`${tag}2 two users with the same server name at once; each stop ends only its own`, async () => {
    const [a, b] = await Promise.all([site.user(`${tag}twoa`), site.user(`${tag}twob`)]);
    const answers = await Promise.all([site.spawn(a, 'lab'), site.spawn(b, 'lab')]);
    assert.ok(answers.every((s) => s === 201 || s === 202), answers.join(','));
    const [idA, idB] = await Promise.all([site.userId(a), site.userId(b)]);
    await Promise.all([site.waitReady(a, 'lab'), site.waitReady(b, 'lab')]);
    const mine = (await site.listed()).filter((s) => s.name === 'lab' && [String(idA), String(idB)].includes(s.jupyterhub_userid));
    assert.equal(mine.length, 2, JSON.stringify(mine));
    assert.notEqual(mine[0]!.start_id, mine[1]!.start_id);
    await site.stop(a, 'lab');
    await site.waitGone(a, 'lab');
    await site.nothingLeft(idA);
    // b's server is untouched: still ready, still polled as running.
    await site.staysReady(b, 'lab', 3_000);
    assert.ok((await leftovers(idB)).some((n) => n.startsWith('Deployment/')));
    await site.stop(b, 'lab');
    await site.nothingLeft(idB);
  });

  test(`${tag}3 stop and start again at once, three times`, async () => {
    const u = await site.user(`${tag}three`);
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    const id = await site.userId(u);
    await site.waitReady(u, 'lab');
    for (let round = 1; round <= 3; round++) {
      await site.stop(u, 'lab');
      await site.waitGone(u, 'lab', 10_000);
      assert.ok([201, 202].includes(await site.spawn(u, 'lab')), `round ${round}`);
      await site.waitReady(u, 'lab');
      await site.staysReady(u, 'lab', 2_500);
      assert.ok(!(await site.events(u, 'lab')).some((e) => e.failed), `round ${round}`);
    }
    assert.equal((await leftovers(id)).filter((n) => n.startsWith('Deployment/')).length, 1, (await leftovers(id)).join(','));
    await site.stop(u, 'lab');
    await site.nothingLeft(id);
  });
}

