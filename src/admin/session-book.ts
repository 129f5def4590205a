// Where the admin page's sessions live: one Secret in the manager's namespace,
// `<DEPLOYMENT_NAME>-admin-sessions`, key `sessions.json`, watched by every
// replica and written with read-modify-write. So a login on one replica works
// on all of them, and a logout or an expiry ends the session everywhere,
// without sticky sessions at the load balancer and across restarts.
//
// The Secret holds no session id and no password hash: sessions are keyed by
// the id's SHA-256, and their proof is a digest (sessions.ts).
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { OwnWrites } from '../kube/own-writes.js';
import { Reflector } from '../kube/reflector.js';
import type { StoredSession } from './sessions.js';

/** The sessions of all replicas, by the SHA-256 of their id. */
export type SessionMap = Record<string, StoredSession>;

export interface SessionBook {
  /** The sessions as this process knows them now (its watch, with its own writes laid over). */
  get(key: string): StoredSession | undefined;
  readonly size: number;
  /** Reads the sessions from the cluster once (a login on another replica a moment ago). */
  refresh(): Promise<void>;
  /** Read-modify-write of the whole map; `change` returns undefined to write nothing. */
  change(change: (sessions: SessionMap) => SessionMap | undefined): Promise<void>;
  start(): void;
  stop(): void;
}

/** Sessions in this process's memory: for tests, and for a page without a cluster. */
export class MemorySessionBook implements SessionBook {
  #sessions: SessionMap = {};

  get(key: string): StoredSession | undefined {
    return this.#sessions[key];
  }

  get size(): number {
    return Object.keys(this.#sessions).length;
  }

  async refresh(): Promise<void> {}

  async change(change: (sessions: SessionMap) => SessionMap | undefined): Promise<void> {
    this.#sessions = change({ ...this.#sessions }) ?? this.#sessions;
  }

  start(): void {}
  stop(): void {}
}

const DATA_KEY = 'sessions.json';
const LABELS = { 'app.kubernetes.io/managed-by': 'k8smgr', 'app.kubernetes.io/component': 'admin-sessions' } as const;

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

export function sessionsSecretName(deploymentName: string): string {
  return `${deploymentName}-admin-sessions`;
}

export class KubeSessionBook implements SessionBook {
  readonly #gateway: KubeGateway;
  readonly #ref: { apiVersion: string; kind: string; metadata: { name: string; namespace: string } };
  readonly #watch: Reflector<SecretObject>;
  readonly #own = new OwnWrites<SecretObject>((s) => s, { bridgeMs: 60_000 });
  /** The last decoded Secret, by resourceVersion: a request decodes nothing. */
  #decoded: { version: string; sessions: SessionMap } = { version: '', sessions: {} };

  constructor(opts: { gateway: KubeGateway; namespace: string; name: string }) {
    this.#gateway = opts.gateway;
    this.#ref = { apiVersion: 'v1', kind: 'Secret', metadata: { name: opts.name, namespace: opts.namespace } };
    this.#watch = new Reflector<SecretObject>(opts.gateway, {
      name: 'admin sessions Secret', apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespace: opts.namespace,
      fieldSelector: `metadata.name=${opts.name}`,
    });
  }

  #sessions(): SessionMap {
    const secret = this.#own.view(DATA_KEY, this.#watch.get(this.#ref.metadata.name));
    const version = secret?.metadata.resourceVersion ?? '';
    if (version !== this.#decoded.version) this.#decoded = { version, sessions: decode(secret) };
    return this.#decoded.sessions;
  }

  get(key: string): StoredSession | undefined {
    const sessions = this.#sessions();
    return Object.hasOwn(sessions, key) ? sessions[key] : undefined;
  }

  get size(): number {
    return Object.keys(this.#sessions()).length;
  }

  async refresh(): Promise<void> {
    const secret = await this.#gateway.read<SecretObject>(this.#ref);
    if (secret) this.#own.wrote(DATA_KEY, secret);
  }

  async change(change: (sessions: SessionMap) => SessionMap | undefined): Promise<void> {
    const written = await this.#gateway.update<SecretObject>(this.#ref, (current) => {
      const next = change({ ...decode(current) });
      if (!next) return undefined;
      return {
        ...this.#ref,
        metadata: { ...this.#ref.metadata, labels: { ...LABELS } },
        type: 'Opaque',
        data: { [DATA_KEY]: Buffer.from(JSON.stringify(next), 'utf8').toString('base64') },
      };
    });
    if (written) this.#own.wrote(DATA_KEY, written);
  }

  start(): void {
    this.#watch.start();
  }

  stop(): void {
    this.#watch.stop();
  }
}

function decode(secret: SecretObject | undefined): SessionMap {
  const b64 = secret?.data?.[DATA_KEY];
  if (!b64) return {};
  try {
    const parsed = JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as SessionMap) : {};
  } catch {
    // A damaged document ends every session (the next login writes a new one).
    return {};
  }
}
