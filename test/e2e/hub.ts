// Runs a real JupyterHub (from the venv of scripts/hub-venv.sh) with
// examples/jupyterhub_config.py (through test/e2e/jupyterhub_test_config.py),
// the dummy authenticator and configurable-http-proxy from node_modules, and a
// small client that logs users in and calls the hub's REST API as they would.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Creates or reuses the hub venv (scripts/hub-venv.sh); its path. Throws a clear Error if that fails. */
export async function hubVenv(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('bash', [path.join(repoRoot, 'scripts/hub-venv.sh')], {
      cwd: repoRoot,
      timeout: 10 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const venv = stdout.trim().split('\n').at(-1) ?? '';
    if (!existsSync(path.join(venv, 'bin', 'jupyterhub'))) throw new Error(`no bin/jupyterhub in "${venv}"`);
    return venv;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`could not create the JupyterHub venv with scripts/hub-venv.sh (needs python3 >= 3.9 and PyPI): ${e.message}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/**
 * The manager config of an e2e test file, in a temporary folder of its own: the e2e
 * templates (test/e2e/descriptions), rendered copies and userhomes in that folder,
 * the hub credentials created at start-up, and `sections` laid over (a `services`
 * section is merged key by key). Returns the config's path.
 */
export function e2eManagerConfig(name: string, credentials: readonly string[], sections: Record<string, unknown> = {}): string {
  const tmp = mkdtempSync(path.join(tmpdir(), `k8smgr-${name}-`));
  mkdirSync(path.join(tmp, 'skel'), { recursive: true });
  const { services, ...rest } = sections as { services?: Record<string, unknown> };
  const configPath = path.join(tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify({
    services: {
      descriptions: path.join(repoRoot, 'test/e2e/descriptions'),
      base: path.join(tmp, 'rendered'),
      status_information: { pod_events_no: 3, container_logs_lines: 5 },
      ...services,
    },
    userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
    startup: { create_user: Object.fromEntries(credentials.map((c) => [c, ['access_to_webservice']])) },
    ...rest,
  }));
  return configPath;
}

export function chpPath(): string {
  const chp = path.join(repoRoot, 'node_modules', '.bin', 'configurable-http-proxy');
  if (!existsSync(chp)) throw new Error(`configurable-http-proxy is missing at ${chp}: run \`npm ci\` (it is a devDependency)`);
  return chp;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** What a restarted hub keeps: its database and cookie secret (the state folder) and its ports. */
export interface HubState {
  dir: string;
  proxyPort: number;
  hubPort: number;
  apiPort: number;
}

export interface HubProcess {
  /** The proxy's public URL: what users open. */
  url: string;
  state: HubState;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Which spawner the hub uses: the example config it loads and the test's additions. */
export const HUB_CONFIGS = {
  backend: { example: 'examples/jupyterhub_config.py', test: 'test/e2e/jupyterhub_test_config.py' },
  outpost: { example: 'examples/jupyterhub_outpost_config.py', test: 'test/e2e/jupyterhub_outpost_test_config.py' },
} as const;

/** Starts a hub; with `state` (from an earlier HubProcess) it is that hub restarted: same database, same ports. */
export async function startHub(opts: { venv: string; env: Record<string, string>; readyTimeoutMs?: number; state?: HubState; config?: keyof typeof HUB_CONFIGS }): Promise<HubProcess> {
  const files = HUB_CONFIGS[opts.config ?? 'backend'];
  const kept = opts.state ?? { dir: mkdtempSync(path.join(tmpdir(), 'k8smgr-hub-')), proxyPort: await freePort(), hubPort: await freePort(), apiPort: await freePort() };
  const { dir: state, proxyPort, hubPort, apiPort } = kept;
  let out = '';
  const child = spawn(path.join(opts.venv, 'bin', 'jupyterhub'), ['-f', path.join(repoRoot, files.test)], {
    cwd: state,
    env: {
      PATH: `${path.join(opts.venv, 'bin')}:${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? state,
      K8SMGR_EXAMPLE_CONFIG: path.join(repoRoot, files.example),
      K8SMGR_HUB_STATE: state,
      K8SMGR_HUB_PROXY_PORT: String(proxyPort),
      K8SMGR_HUB_PORT: String(hubPort),
      K8SMGR_HUB_PROXY_API_PORT: String(apiPort),
      K8SMGR_CHP: chpPath(),
      CONFIGPROXY_AUTH_TOKEN: 'e2e-proxy-token-0123456789',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${proxyPort}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`JupyterHub exited with ${child.exitCode} before it was ready:\n${out}`);
    const ok = await fetch(`${url}/hub/api/`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`JupyterHub did not answer at ${url}/hub/api/ in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    state: kept,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

export interface HubResponse {
  status: number;
  body: any;
  text: string;
}

/** A user of the hub: a cookie jar, the login form, and API calls with the xsrf token. */
export class HubUser {
  readonly #cookies = new Map<string, string>();
  readonly name: string;
  readonly #hub: string;

  constructor(hubUrl: string, name: string) {
    this.#hub = hubUrl;
    this.name = name;
  }

  #remember(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (!pair || at < 0) continue;
      const value = pair.slice(at + 1);
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(line) || value === '' || value === '""') this.#cookies.delete(pair.slice(0, at));
      else this.#cookies.set(pair.slice(0, at), value);
    }
  }

  #cookieHeader(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /**
   * node:http rather than fetch: fetch always sends `Sec-Fetch-Mode: cors`, and the hub
   * sets its xsrf cookie only on navigation requests, as from a browser's address bar.
   */
  async #request(pathname: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.#cookies.size) headers.cookie = this.#cookieHeader();
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const { status, setCookies, text } = await new Promise<{ status: number; setCookies: string[]; text: string }>((resolve, reject) => {
      const req = http.request(new URL(pathname, this.#hub), { method: init.method ?? 'GET', headers, timeout: 30_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookies: res.headers['set-cookie'] ?? [], text: body }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from the hub for ${pathname} within 30 s`)));
      req.on('error', reject);
      req.end(init.body);
    });
    this.#remember(setCookies);
    return { status, text };
  }

  /** Logs in through the hub's login page (dummy authenticator: any password). */
  async login(password = 'any-password'): Promise<void> {
    const page = await this.#request('/hub/login');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(page.text)?.[1] ?? this.#cookies.get('_xsrf');
    if (!xsrf) throw new Error(`no _xsrf on the hub's login page (${page.status})`);
    const res = await this.#request('/hub/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: this.name, password, _xsrf: xsrf }).toString(),
    });
    if (res.status !== 302) throw new Error(`login of ${this.name} answered ${res.status}, not a redirect`);
    if (![...this.#cookies.keys()].some((k) => k.startsWith('jupyterhub-session') || k.startsWith('jupyterhub-hub-login'))) {
      throw new Error(`login of ${this.name} set no session cookie`);
    }
  }

  /** A call of the hub's REST API (/hub/api/...) with the session cookie and the xsrf header. */
  async api(method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}): Promise<HubResponse> {
    const xsrf = this.#cookies.get('_xsrf');
    const res = await this.#request(`/hub/api${pathname}`, {
      method,
      headers: {
        ...(xsrf ? { 'x-xsrftoken': xsrf } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = res.text;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  }
}
