// Test-only stand-in for the containers that the simulated (kwok) nodes do not
// run: for each Running, ready pod of K8s Manager in the namespace, runs the
// real `jupyterhub-singleuser` from the hub venv with the env of the service's
// env Secret (what the pod would mount), listening on 127.0.0.1 at the port of
// its JUPYTERHUB_SERVICE_URL, where the test hub's `service_address` points.
// Stops it when the pod goes. A real cluster needs none of this.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';

export interface SingleUserResponder {
  /** Pod names that have a running single-user server. */
  running(): string[];
  /** Everything the servers printed, per pod. */
  output(): string;
  stop(): Promise<void>;
}

interface Server {
  pod: string;
  child: ChildProcess;
  home: string;
  out: string;
  exited: Promise<void>;
}

type Pod = k8s.V1Pod;

function isUp(pod: Pod, container: string): boolean {
  if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running') return false;
  const main = pod.status.containerStatuses?.find((c) => c.name === container);
  return Boolean(main?.ready && main.state?.running);
}

export async function startSingleUserResponder(opts: {
  kc: k8s.KubeConfig;
  namespace: string;
  venv: string;
  container?: string;
  intervalMs?: number;
}): Promise<SingleUserResponder> {
  const core = opts.kc.makeApiClient(k8s.CoreV1Api);
  const container = opts.container ?? 'main';
  const servers = new Map<string, Server>();
  const finished: string[] = [];
  let stopped = false;

  async function launch(pod: Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const spec = pod.spec?.containers.find((c) => c.name === container);
    const secretName = spec?.envFrom?.find((e) => e.secretRef?.name)?.secretRef?.name;
    if (!secretName) return;
    const secret = await core.readNamespacedSecret({ name: secretName, namespace: opts.namespace });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) env[k] = Buffer.from(v, 'base64').toString();
    for (const e of spec?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const serviceUrl = env.JUPYTERHUB_SERVICE_URL;
    if (!serviceUrl) throw new Error(`env Secret ${secretName} of pod ${name} has no JUPYTERHUB_SERVICE_URL`);
    const port = new URL(serviceUrl).port;
    const home = mkdtempSync(path.join(tmpdir(), `singleuser-${name.slice(0, 30)}-`));
    const child = spawn(
      path.join(opts.venv, 'bin', 'jupyterhub-singleuser'),
      ['--ip=127.0.0.1', `--port=${port}`, '--allow-root', `--ServerApp.root_dir=${home}`],
      {
        cwd: home,
        env: { ...env, PATH: `${path.join(opts.venv, 'bin')}:${process.env.PATH ?? ''}`, HOME: home, JUPYTER_RUNTIME_DIR: path.join(home, '.runtime') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const server: Server = {
      pod: name,
      child,
      home,
      out: '',
      exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
    };
    child.stdout?.on('data', (d: Buffer) => (server.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (server.out += d.toString()));
    servers.set(name, server);
  }

  async function halt(server: Server): Promise<void> {
    servers.delete(server.pod);
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      const killer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
      await server.exited;
      clearTimeout(killer);
    }
    finished.push(`--- ${server.pod}\n${server.out}`);
    rmSync(server.home, { recursive: true, force: true });
  }

  async function tick(): Promise<void> {
    const list = await core.listNamespacedPod({ namespace: opts.namespace, labelSelector: 'app.kubernetes.io/managed-by=k8smgr' });
    const up = new Map(list.items.filter((p) => isUp(p, container)).map((p) => [p.metadata?.name ?? '', p]));
    for (const server of [...servers.values()]) if (!up.has(server.pod)) await halt(server);
    for (const [name, pod] of up) if (!servers.has(name)) await launch(pod);
  }

  const loop = (async () => {
    while (!stopped) {
      await tick().catch((err: unknown) => console.error(`singleuser responder: ${(err as Error).message}`));
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
    }
  })();

  return {
    running: () => [...servers.keys()],
    output: () => [...finished, ...[...servers.values()].map((s) => `--- ${s.pod}\n${s.out}`)].join('\n'),
    async stop() {
      stopped = true;
      await loop;
      await Promise.all([...servers.values()].map((s) => halt(s)));
    },
  };
}
