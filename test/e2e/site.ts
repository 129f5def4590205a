// A site of the end-to-end tests: a real JupyterHub (test/e2e/hub.ts), the
// single-user stand-ins of its users' pods (singleuser.ts), and the managers
// behind it (one, or several behind HAProxy), with what every journey does
// through the hub's REST API as a user's browser would. The spawner's own part
// (which config, which env, where its events are) comes from the subclass.
import assert from 'node:assert/strict';
import type * as k8s from '@kubernetes/client-node';
import { waitFor } from '../helpers/cluster.js';
import { startManager, type ManagerProcess } from '../helpers/manager.js';
import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { chpPath, hubVenv, startHub, HubUser, type HUB_CONFIGS, type HubProcess } from './hub.js';
import { startSingleUserResponder, type SingleUserResponder } from './singleuser.js';

export interface HubEvent { progress?: number; failed?: boolean; message?: string; html_message?: string }
export type ServerModel = { ready?: boolean; pending?: string | null; url?: string };

/** Where a site runs: the test file's namespace and the managers' config and environment. */
export interface SiteSpec {
  kc: k8s.KubeConfig;
  namespace: string;
  kubeconfigPath: string;
  configPath: string;
  /** The environment of the manager replica of this name. */
  managerEnv: (replica: string) => Record<string, string>;
  /** Which spawner the hub runs, and its environment (K8SMGR_URL and the like) for the managers' URL. */
  hubConfig: keyof typeof HUB_CONFIGS;
  hubEnv: (url: string) => Record<string, string>;
  /** The hub API path of a server's spawn events (each spawner package has its own). */
  eventsPath: (user: string, server: string) => string;
}

export class HubSite {
  managers: ManagerProcess[] = [];
  balancer: Balancer | undefined;
  responder: SingleUserResponder | undefined;
  hub: HubProcess | undefined;
  venv = '';
  /** What the hub calls: the manager, or HAProxy in front of the replicas. */
  url = '';

  constructor(readonly spec: SiteSpec) {}

  async up(replicas: number, replicaName = (i: number) => `mgr-${replicas}-${i}`): Promise<void> {
    const { kubeconfigPath, namespace, configPath, kc } = this.spec;
    this.venv = await hubVenv();
    chpPath();
    for (let i = 0; i < replicas; i++) this.managers.push(await startManager({ kubeconfigPath, namespace, configPath, env: this.spec.managerEnv(replicaName(i)) }));
    this.url = this.managers[0]!.url;
    if (replicas > 1) {
      this.balancer = await startBalancer({ backends: this.managers.map((m) => m.url) });
      this.url = this.balancer.url;
    }
    this.responder = await startSingleUserResponder({ kc, namespace, venv: this.venv });
    await this.startHub(this.url);
  }

  /** Starts the hub; with `state` it is the hub restarted (same database, same ports). */
  async startHub(url: string, state?: HubProcess['state']): Promise<void> {
    this.hub = await startHub({ venv: this.venv, config: this.spec.hubConfig, ...(state ? { state } : {}), env: this.spec.hubEnv(url) });
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

  /** The server's spawn events: the hub's own and those the manager sent. */
  async events(user: HubUser, server: string): Promise<HubEvent[]> {
    const r = await user.api('GET', this.spec.eventsPath(user.name, server));
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

  /** Waits until `leftovers()` is empty (the objects of users' services the caller means). */
  async noneLeft(leftovers: () => Promise<string[]>, what: string, timeoutMs = 90_000): Promise<void> {
    await waitFor(async () => (await leftovers()).length === 0, { what: `nothing of ${what} left in the namespace`, timeoutMs })
      .catch(async (err: Error) => assert.fail(`${err.message}: ${(await leftovers()).join(', ')}${this.logs()}`));
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
