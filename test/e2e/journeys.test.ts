// User journeys through a real JupyterHub (EventBackendSpawner) against K8s
// Manager on the real control plane, driven through the hub's REST API exactly
// as a user's browser drives it: stop and start again at once, double clicks,
// stops while a start is pending or still on its way, failure causes in the
// progress stream, the hub or the manager killed mid-spawn, named servers,
// many users at once, and the first journeys again with two manager replicas
// behind a real load balancer (HAProxy) so that consecutive requests of one
// journey hit different replicas. Prints a table of the journeys at the end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic, startManager, type ManagerProcess } from '../helpers/manager.js';
import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { chpPath, hubVenv, repoRoot, startHub, HubUser, type HubProcess } from './hub.js';
import { startSingleUserResponder, type SingleUserResponder } from './singleuser.js';

const { kc, namespace, kubeconfigPath } = await testNamespace();
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-journeys-'));
const configPath = path.join(tmp, 'config.json');
mkdirSync(path.join(tmp, 'skel', 'jupyterhub'), { recursive: true });
writeFileSync(configPath, JSON.stringify({
  services: {
    descriptions: path.join(repoRoot, 'test/e2e/descriptions'),
    base: path.join(tmp, 'rendered'),
    status_information: { pod_events_no: 3, container_logs_lines: 5 },
    failed_cleanup_seconds: 5,
  },
  userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
  startup: { create_user: { jupyterhub: ['access_to_webservice'], otherhub: ['access_to_webservice'] } },
}));
const PASSWORD = 'journeys-hub-credential-pw';
const OTHER_PASSWORD = 'journeys-other-hub-pw';
const managerEnv = (replica: string) => ({ JUPYTERHUB_USER_PASS: PASSWORD, OTHERHUB_USER_PASS: OTHER_PASSWORD, POD_NAME: replica });

const core = kc.makeApiClient(k8s.CoreV1Api);
const objectsApi = k8s.KubernetesObjectApi.makeApiClient(kc);
const KINDS: Array<[string, string]> = [['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Pod'], ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet']];

/** Objects of users' services whose servername starts with `prefix` (the hub's servername is `<user>-<server>-<hash>`). */
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

async function deployments(prefix: string): Promise<string[]> {
  return (await leftovers(prefix)).filter((n) => n.startsWith('Deployment/'));
}

interface HubEvent { progress?: number; failed?: boolean; html_message?: string }
type ServerModel = { ready?: boolean; pending?: string | null; url?: string };

const results: Array<{ journey: string; result: string; seconds: number }> = [];
/** Runs one journey, timing it and noting the result for the table. */
function journey(name: string, fn: () => Promise<void>, opts: { timeout?: number; todo?: string } = {}): void {
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

after(() => {
  const width = Math.max(...results.map((r) => r.journey.length), 7);
  const lines = results.map((r) => `| ${r.journey.padEnd(width)} | ${r.result.padEnd(6)} | ${r.seconds.toFixed(1).padStart(7)} |`);
  console.log(`\nJourneys with a real JupyterHub:\n| ${'journey'.padEnd(width)} | result | seconds |\n|${'-'.repeat(width + 2)}|--------|---------|\n${lines.join('\n')}\n`);
});

/** A hub, its single-user stand-ins, and the managers behind it (one, or several behind HAProxy). */
class Site {
  managers: ManagerProcess[] = [];
  balancer: Balancer | undefined;
  responder: SingleUserResponder | undefined;
  hub: HubProcess | undefined;
  venv = '';

  async up(replicas: number): Promise<void> {
    this.venv = await hubVenv();
    chpPath();
    for (let i = 0; i < replicas; i++) {
      this.managers.push(await startManager({ kubeconfigPath, namespace, configPath, env: managerEnv(`mgr-${replicas}-${i}`) }));
    }
    let url = this.managers[0]!.url;
    if (replicas > 1) {
      this.balancer = await startBalancer({ backends: this.managers.map((m) => m.url) });
      url = this.balancer.url;
    }
    this.responder = await startSingleUserResponder({ kc, namespace, venv: this.venv });
    await this.startHub(url);
  }

  async startHub(url: string, state?: HubProcess['state']): Promise<void> {
    this.hub = await startHub({
      venv: this.venv,
      ...(state ? { state } : {}),
      env: { K8SMGR_URL: url, K8SMGR_CREDENTIAL: 'jupyterhub', K8SMGR_PASSWORD: PASSWORD, K8SMGR_DEFAULT_SERVICE: 'jupyterlab/default' },
    });
  }

  async down(): Promise<void> {
    await this.hub?.stop();
    await this.responder?.stop();
    await this.balancer?.stop();
    for (const m of this.managers) await m.kill('SIGTERM');
  }

  logs(): string {
    const tail = (s: string | undefined, n = Number(process.env.K8SMGR_E2E_LOG_LINES ?? 40)) => (s ?? '').split('\n').slice(-n).join('\n');
    return `\n--- hub (tail)\n${tail(this.hub?.output())}\n${this.managers.map((m, i) => `--- manager ${i} (tail)\n${tail(m.output())}`).join('\n')}`;
  }

  async user(name: string): Promise<HubUser> {
    const user = new HubUser(this.hub!.url, name);
    await user.login().catch((err: Error) => assert.fail(`${err.message}${this.logs()}`));
    return user;
  }

  async server(user: HubUser, server: string): Promise<ServerModel | undefined> {
    const r = await user.api('GET', `/users/${user.name}`);
    return (r.body as { servers?: Record<string, ServerModel> } | undefined)?.servers?.[server];
  }

  async spawn(user: HubUser, server: string, service = 'jupyterlab/default'): Promise<number> {
    const r = await user.api('POST', `/users/${user.name}/servers/${server}`, { service });
    return r.status;
  }

  async events(user: HubUser, server: string): Promise<HubEvent[]> {
    const r = await user.api('GET', `/users/progress/status/${user.name}/${server}`);
    return r.status === 200 ? (r.body as { events: HubEvent[] }).events : [];
  }

  async waitReady(user: HubUser, server: string, timeoutMs = 120_000): Promise<void> {
    await waitFor(async () => {
      const s = await this.server(user, server);
      if (!s) {
        const failed = (await this.events(user, server)).find((e) => e.failed);
        if (failed) throw new Error(`${user.name}/${server} failed: ${failed.html_message}`);
      }
      return s?.ready === true;
    }, { what: `${user.name}/${server} ready in the hub`, timeoutMs, intervalMs: 300 }).catch((err: Error) => assert.fail(`${err.message}${this.logs()}`));
  }

  async waitGone(user: HubUser, server: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => !(await this.server(user, server)), { what: `${user.name}/${server} gone from the hub`, timeoutMs, intervalMs: 200 })
      .catch((err: Error) => assert.fail(`${err.message}${this.logs()}`));
  }

  async stop(user: HubUser, server: string): Promise<void> {
    const r = await user.api('DELETE', `/users/${user.name}/servers/${server}`);
    assert.ok(r.status === 202 || r.status === 204, `stop answered ${r.status} ${r.text}`);
  }

  async nothingLeft(prefix: string, timeoutMs = 90_000): Promise<void> {
    await waitFor(async () => (await leftovers(prefix)).length === 0, { what: `nothing of ${prefix}* left in the namespace`, timeoutMs })
      .catch(async (err: Error) => assert.fail(`${err.message}: ${(await leftovers(prefix)).join(', ')}${this.logs()}`));
  }

  /** The manager's servername of the hub's server whose name starts with `prefix` (as the hub derives it). */
  async servername(prefix: string): Promise<string> {
    const res = await fetch(`${this.managers[0]!.url}/api/services/`, { headers: { authorization: basic('jupyterhub', PASSWORD) } });
    const name = ((await res.json()) as Array<{ servername: string }>).map((s) => s.servername).find((n) => n.startsWith(prefix));
    assert.ok(name, `no service of the manager starts with ${prefix}`);
    return name;
  }

  /** The server stays ready across a few of the hub's polls (2 s apart): no answer says "stopped". */
  async staysReady(user: HubUser, server: string, ms = 5_000): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const s = await this.server(user, server);
      assert.equal(s?.ready, true, `${user.name}/${server} stopped being ready: ${JSON.stringify(s)}${this.logs()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Journeys 1-4, run against one manager and again against two replicas behind HAProxy. */
function basicJourneys(site: Site, tag: string): void {
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
    assert.equal((await deployments(`${tag}two-`)).length, 1, (await deployments(`${tag}two-`)).join(','));
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
    assert.equal((await deployments(`${tag}three-`)).length, 1, 'one server');
    await site.stop(u, 'lab');
    await site.nothingLeft(`${tag}three-`);
  });

  journey(`${tag}4 stop while the pod is pending, and while the start request is on its way`, async () => {
    const u = await site.user(`${tag}four`);
    assert.ok([201, 202].includes(await site.spawn(u, 'slow', 'jupyterlab/slow')));
    await waitFor(async () => (await deployments(`${tag}four-slow`)).length === 1, { what: 'the slow server created', timeoutMs: 30_000 });
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

describe('one manager', () => {
  const site = new Site();
  before(async () => site.up(1));
  after(async () => site.down());

  basicJourneys(site, 'j');

  journey('j5 failure causes reach the hub in their own words within 2 s of the Kubernetes event', async () => {
    const u = await site.user('jfive');
    const cases: Array<{ server: string; service: string; reason: RegExp; words: RegExp }> = [
      { server: 'crash', service: 'jupyterlab/fail', reason: /BackOff/, words: /Back-off|BackOff/ },
      { server: 'pull', service: 'jupyterlab/pullfail', reason: /^(Failed|BackOff)$/, words: /pull|ErrImagePull|ImagePullBackOff/i },
      { server: 'nowhere', service: 'jupyterlab/unschedulable', reason: /FailedScheduling/, words: /nodes are available|node\(s\)|didn't match/ },
    ];
    const delays: string[] = [];
    for (const c of cases) {
      assert.ok([201, 202].includes(await site.spawn(u, c.server, c.service)));
      let eventSeen = 0;
      let failedSeen = 0;
      let failedEvent: HubEvent | undefined;
      const deadline = Date.now() + 90_000;
      while ((!eventSeen || !failedSeen) && Date.now() < deadline) {
        if (!eventSeen) {
          const events = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=Pod,type=Warning' });
          if (events.items.some((e) => e.involvedObject.name?.startsWith(`depl-jfive-${c.server}`) && c.reason.test(e.reason ?? ''))) eventSeen = Date.now();
        }
        if (!failedSeen) {
          failedEvent = (await site.events(u, c.server)).find((e) => e.failed);
          if (failedEvent) failedSeen = Date.now();
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(eventSeen, `${c.server}: no Warning event ${c.reason} in the namespace${site.logs()}`);
      assert.ok(failedEvent, `${c.server}: no failed progress event in the hub${site.logs()}`);
      assert.match(failedEvent.html_message ?? '', c.words, `${c.server}: the cause's words in the hub: ${failedEvent.html_message}`);
      const delay = failedSeen - eventSeen;
      delays.push(`${c.server} ${delay} ms`);
      assert.ok(delay <= 2000, `${c.server}: the hub heard of the failure ${delay} ms after the Kubernetes event`);
      await site.waitGone(u, c.server);
    }
    console.log(`failure cause delays (Kubernetes event seen -> hub progress event seen): ${delays.join(', ')}`);
  });

  journey('j6 the hub killed and restarted while a server starts', async () => {
    const u = await site.user('jsix');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab', 'jupyterlab/slow')));
    await waitFor(async () => (await deployments('jsix-lab')).length === 1, { what: 'the server created', timeoutMs: 30_000 });
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
      if (!s && (await deployments('jsix-lab')).length === 0) return 'stopped';
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
    site.managers[0] = await startManager({ kubeconfigPath, namespace, configPath, env: { ...managerEnv('mgr-1-0'), PORT: port } });
    await site.waitReady(u, 'lab', 120_000);
    await site.staysReady(u, 'lab', 5_000);
    const summaries = (await site.events(u, 'lab')).map((e) => /<summary>(?:[0-9_: .]+: )?([^<]*)<\/summary>/.exec(e.html_message ?? '')?.[1] ?? '');
    assert.ok(summaries.includes('Service is ready'), `progress resumed after the restart: ${JSON.stringify(summaries)}`);
    assert.equal(new Set(summaries).size, summaries.length, `each step once: ${JSON.stringify(summaries)}`);
    await site.stop(u, 'lab');
    await site.nothingLeft('jseven-');
  });

  journey('j8 two named servers of one user; another hub credential sees none of them', async () => {
    const u = await site.user('jeight');
    assert.ok([201, 202].includes(await site.spawn(u, 'a')));
    assert.ok([201, 202].includes(await site.spawn(u, 'b')));
    await site.waitReady(u, 'a');
    await site.waitReady(u, 'b');
    assert.equal((await deployments('jeight-')).length, 2);
    const mine = await fetch(`${site.managers[0]!.url}/api/services/`, { headers: { authorization: basic('jupyterhub', PASSWORD) } });
    const names = ((await mine.json()) as Array<{ servername: string }>).map((s) => s.servername).filter((n) => n.startsWith('jeight-'));
    assert.equal(names.length, 2);
    const other = { authorization: basic('otherhub', OTHER_PASSWORD) };
    const list = await fetch(`${site.managers[0]!.url}/api/services/`, { headers: other });
    assert.equal(list.status, 200);
    assert.deepEqual(((await list.json()) as unknown[]).length, 0, 'the other hub lists nothing');
    for (const name of names) {
      assert.equal((await fetch(`${site.managers[0]!.url}/api/services/${name}/`, { headers: other })).status, 404);
      assert.equal((await fetch(`${site.managers[0]!.url}/api/services/${name}/`, { method: 'DELETE', headers: other })).status, 404);
    }
    await site.staysReady(u, 'a', 2000);
    await site.stop(u, 'a');
    await site.stop(u, 'b');
    await site.nothingLeft('jeight-');
  });

  journey('j10 a server that crashes after it was ready: the hub sees it stopped, the manager removes it, the next start is fresh', async () => {
    const u = await site.user('jten');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab', 'jupyterlab/crashlater')));
    await site.waitReady(u, 'lab');
    const auth = { authorization: basic('jupyterhub', PASSWORD) };
    const servername = await site.servername('jten-lab');
    // The container crashes 12 s after it is ready; the hub's poll hears "running: false" and drops the server without a DELETE.
    await site.waitGone(u, 'lab', 60_000);
    // The manager removes the workload itself (failed_cleanup_seconds 5 here) ...
    await waitFor(async () => (await deployments('jten-lab')).length === 0, { what: 'the crashed workload removed by the manager', timeoutMs: 60_000 })
      .catch((err: Error) => assert.fail(`${err.message}${site.logs()}`));
    // ... and the anchor keeps answering the same failure.
    const answer = (await (await fetch(`${site.managers[0]!.url}/api/services/${servername}/`, { headers: auth })).json()) as { running: boolean; state: string; details: { error: string; detailed_error: string } };
    assert.equal(answer.running, false);
    assert.equal(answer.state, 'failed');
    assert.match(answer.details.error, /terminated|cannot start/);
    assert.match(answer.details.detailed_error, /Events:/);
    // The user's next start gets a fresh, working server.
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    await site.waitReady(u, 'lab');
    await site.staysReady(u, 'lab', 3000);
    await site.stop(u, 'lab');
    await site.nothingLeft('jten-');
  });

  // 20 users in the suite (each runs a real jupyterhub-singleuser on this 2-core machine);
  // K8SMGR_JOURNEY_USERS=50 for the issue's 50.
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

describe('two manager replicas behind HAProxy', () => {
  const site = new Site();
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
