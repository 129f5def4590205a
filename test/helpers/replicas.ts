// Several `k8smgr serve` processes as replicas of one site, each with a fixed
// port and its own POD_NAME (and a Pod object of that name on a kwok node, as
// the Deployment's pods would be), behind HAProxy; and a hub-like load of polls
// and starts/stops through the balancer that counts what failed. Used by
// test/integration/replicas.test.ts.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { startBalancer, type Balancer } from './balancer.js';
import { basic, startManager, type ManagerProcess } from './manager.js';
import { freePort } from './sshd.js';

export interface Replica {
  name: string;
  port: number;
  configPath: string;
  /** Per-replica control dir of ssh: what its pod's death would take with it. */
  controlDir?: string;
  process?: ManagerProcess;
}

export interface SiteOptions {
  kc: k8s.KubeConfig;
  kubeconfigPath: string;
  namespace: string;
  deploymentName: string;
  /** Config file per replica (index). */
  configPath: (index: number) => string;
  controlDir?: (index: number) => string;
  names: string[];
  env: Record<string, string>;
}

export interface Site {
  replicas: Replica[];
  balancer: Balancer;
  start(r: Replica): Promise<void>;
  /** SIGKILL, and the replica's ssh control masters with it (they would die with the pod). */
  kill(r: Replica): Promise<void>;
  /** SIGTERM; resolves when the process exited. */
  term(r: Replica): Promise<number | null>;
  /** The Lease's holder as the apiserver has it: the process id `<POD_NAME>_<process>`. */
  holder(): Promise<string>;
  /** Pods that carry the userjobs leader label. */
  labelled(): Promise<string[]>;
  stop(): Promise<void>;
}

export const LEADER_LABEL = 'k8smgr.io/userjobs-leader';

export async function startSite(o: SiteOptions): Promise<Site> {
  const core = o.kc.makeApiClient(k8s.CoreV1Api);
  const coord = o.kc.makeApiClient(k8s.CoordinationV1Api);
  const replicas: Replica[] = [];
  for (const [i, name] of o.names.entries()) {
    // The pod this replica would run in (kwok makes it Running and Ready).
    await core.createNamespacedPod({
      namespace: o.namespace,
      body: {
        metadata: { name, labels: { name: o.deploymentName, app: 'k8smgr-replica-test' } },
        spec: { nodeName: `kwok-node-${i % 2}`, containers: [{ name: 'manager', image: 'k8smgr:test' }] },
      },
    });
    replicas.push({ name, port: await freePort(), configPath: o.configPath(i), ...(o.controlDir ? { controlDir: o.controlDir(i) } : {}) });
  }
  const start = async (r: Replica) => {
    r.process = await startManager({
      kubeconfigPath: o.kubeconfigPath, namespace: o.namespace, configPath: r.configPath,
      env: { ...o.env, DEPLOYMENT_NAME: o.deploymentName, POD_NAME: r.name, PORT: String(r.port) },
    });
  };
  await Promise.all(replicas.map(start));
  const balancer = await startBalancer({ backends: replicas.map((r) => `http://127.0.0.1:${r.port}`), checkIntervalMs: 500 });
  const killMasters = (r: Replica) => {
    if (!r.controlDir) return;
    let out = '';
    try {
      out = execFileSync('pgrep', ['-f', `S ${r.controlDir}/`], { encoding: 'utf8' });
    } catch {
      return; // none
    }
    for (const pid of out.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  return {
    replicas,
    balancer,
    start,
    async kill(r) {
      await r.process?.kill('SIGKILL');
      killMasters(r);
    },
    async term(r) {
      return (await r.process?.kill('SIGTERM')) ?? null;
    },
    async holder() {
      const lease = await coord.readNamespacedLease({ name: `${o.deploymentName}-leader`, namespace: o.namespace }).catch(() => undefined);
      return lease?.spec?.holderIdentity ?? '';
    },
    async labelled() {
      const pods = await core.listNamespacedPod({ namespace: o.namespace, labelSelector: `${LEADER_LABEL}=${o.deploymentName}` });
      return pods.items.map((p) => p.metadata?.name ?? '').sort();
    },
    async stop() {
      await balancer.stop();
      for (const r of replicas) {
        await r.process?.kill('SIGTERM');
        killMasters(r);
      }
    },
  };
}

export interface LoadCounts {
  polls: number;
  pollFailures: number;
  starts: number;
  stops: number;
  writeFailures: number;
  /** "status/route: message" of each failure (first 20). */
  failures: string[];
  /** Services started and not stopped at the end (expected: one Deployment each). */
  live: Set<string>;
  /** Services stopped (expected: none of their objects). */
  stopped: Set<string>;
}

export interface Load {
  counts: LoadCounts;
  /** Ends the load and waits for the requests in flight. */
  stop(): Promise<LoadCounts>;
}

/**
 * A hub's traffic through the balancer: `pollsPerSecond` polls spread over the
 * live services, and a start (then, next round, a stop) every `churnMs`. A
 * keep-alive agent as a hub's HTTP client has.
 */
export function startLoad(o: { url: string; credential: string; password: string; prefix: string; initial: string[]; pollsPerSecond: number; churnMs: number }): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const auth = basic(o.credential, o.password);
  const counts: LoadCounts = { polls: 0, pollFailures: 0, starts: 0, stops: 0, writeFailures: 0, failures: [], live: new Set(o.initial), stopped: new Set() };
  const inflight = new Set<Promise<unknown>>();
  let running = true;
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${o.url}${path}`, { method, agent, timeout: 30_000, headers: { authorization: auth, ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(body);
    });
  const fail = (what: string) => {
    if (counts.failures.length < 20) counts.failures.push(what);
  };
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  let n = 0;
  const pollTimer = setInterval(() => {
    const names = [...counts.live];
    if (!running || names.length === 0) return;
    const name = names[n++ % names.length] as string;
    counts.polls++;
    track(call('GET', `/api/services/${name}/`).then(
      (r) => {
        if (r.status !== 200) {
          counts.pollFailures++;
          fail(`${r.status} GET ${name}: ${r.body.slice(0, 200)}`);
        }
      },
      (err: Error) => {
        counts.pollFailures++;
        fail(`GET ${name}: ${err.message}`);
      },
    ));
  }, 1000 / o.pollsPerSecond);
  let serial = 0;
  let pendingStop: string | undefined;
  const churnTimer = setInterval(() => {
    if (!running) return;
    if (pendingStop) {
      const name = pendingStop;
      pendingStop = undefined;
      counts.live.delete(name);
      counts.stops++;
      track(call('DELETE', `/api/services/${name}/`).then(
        (r) => {
          if (r.status !== 204 && r.status !== 200) {
            counts.writeFailures++;
            fail(`${r.status} DELETE ${name}: ${r.body.slice(0, 200)}`);
          }
          counts.stopped.add(name);
        },
        (err: Error) => {
          counts.writeFailures++;
          fail(`DELETE ${name}: ${err.message}`);
          counts.stopped.add(name);
        },
      ));
      return;
    }
    const name = `${o.prefix}-c${serial++}`;
    counts.starts++;
    const body = JSON.stringify({
      start_id: `c${String(serial).padStart(7, '0')}`, user_options: { service: 'lab/ok' },
      env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/progress', JUPYTERHUB_API_TOKEN: 't', JUPYTERHUB_USER_ID: serial },
    });
    track(call('POST', '/api/services/', { uuidcode: name, 'content-type': 'application/json' }, body).then(
      (r) => {
        if (r.status !== 201 && r.status !== 200) {
          counts.writeFailures++;
          fail(`${r.status} POST ${name}: ${r.body.slice(0, 200)}`);
        } else {
          counts.live.add(name);
          pendingStop = name;
        }
      },
      (err: Error) => {
        counts.writeFailures++;
        fail(`POST ${name}: ${err.message}`);
      },
    ));
  }, o.churnMs);
  return {
    counts,
    async stop() {
      running = false;
      clearInterval(pollTimer);
      clearInterval(churnTimer);
      while (inflight.size) await Promise.allSettled([...inflight]);
      agent.destroy();
      return counts;
    },
  };
}
