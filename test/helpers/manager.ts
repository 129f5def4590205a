// Runs `k8smgr serve` as a child process (so tests can kill -9 it) on a free
// port, and waits until it is ready.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ManagerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the manager printed. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ManagerOptions {
  kubeconfigPath: string;
  namespace: string;
  configPath: string;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

/** The environment of a manager under test: only what it is given, on a free loopback port. */
export function managerEnv(opts: Pick<ManagerOptions, 'kubeconfigPath' | 'namespace' | 'configPath' | 'env'>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    KUBECONFIG: opts.kubeconfigPath,
    CONFIG_PATH: opts.configPath,
    DEPLOYMENT_NAMESPACE: opts.namespace,
    MANAGER_NAMESPACE: opts.namespace,
    HOST: '127.0.0.1',
    PORT: '0',
    ...opts.env,
  };
}

export async function startManager(opts: ManagerOptions): Promise<ManagerProcess> {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), 'serve'], {
    cwd: repoRoot,
    env: managerEnv(opts),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let url: string | undefined;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`manager exited with ${child.exitCode} before it was ready:\n${out}`);
    // A fixed port is known at once (the "listening" line is not logged when a site raised the log level).
    url ??= opts.env?.PORT && opts.env.PORT !== '0' ? `http://127.0.0.1:${opts.env.PORT}` : /K8s Manager listening .*url=(http:\/\/[0-9.:]+)/.exec(out)?.[1];
    if (url) {
      const ready = await fetch(`${url}/api/ready/`).then((r) => r.status === 200, () => false);
      if (ready) break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!url) {
    child.kill('SIGKILL');
    throw new Error(`manager did not become ready in time:\n${out}`);
  }
  const managerUrl = url;
  return {
    url: managerUrl,
    child,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
