// The credential store: the credentials document (one Secret, shared by every
// replica, surviving restarts), watched for reading and edited by
// read-modify-write with optimistic concurrency. Passwords and tokens are
// hashed before they reach any document; plaintext is never stored or logged.
import type { KubeGateway } from '../kube/gateway.js';
import type { AppLogger } from '../logging/logger.js';
import type { Group } from './types.js';
import type { CredentialBackend, StoredDoc } from './backend.js';
import { KubeSecretBackend, credentialsSecretName } from './kube-backend.js';
import {
  changedCredentials,
  checkCredentialName,
  checkGroups,
  CredentialError,
  emptyDoc,
  findToken,
  type CredentialDoc,
  type CredentialEntry,
} from './document.js';
import { Hasher } from './hash.js';
import { formatToken, newTokenId } from './headers.js';

export interface CredentialSummary {
  name: string;
  groups: Group[];
  hasPassword: boolean;
  tokens: Array<{ id: string; created: string }>;
  updated: string;
}

/** What the CLI and the start-up users need (the store, or a stand-in in tests). */
export interface CredentialAdmin {
  createOrUpdate(name: string, opts: { password?: string; groups: readonly string[] }): Promise<{ created: boolean; changed: boolean }>;
  remove(name: string): Promise<boolean>;
  setGroups(name: string, groups: readonly string[]): Promise<void>;
  createToken(name: string): Promise<string>;
  revokeToken(name: string, tokenId: string): Promise<boolean>;
  list(): Promise<CredentialSummary[]>;
}

/** What the authenticator reads. */
export interface CredentialSource {
  readonly hasher: Hasher;
  snapshot(): StoredDoc;
  /** Re-reads the document from its source (rate-limited); true when it had changed. */
  refresh(): Promise<boolean>;
  /** `listener` gets the names of the credentials whose entries changed. */
  onChange(listener: (changed: string[]) => void): () => void;
}

export interface StoreOptions {
  hasher?: Hasher;
  logger?: AppLogger;
  /** Least time between two re-reads triggered by refresh(). */
  minRefreshIntervalMs?: number;
  maxWriteAttempts?: number;
  now?: () => number;
}

const EMPTY: StoredDoc = { doc: emptyDoc(), version: '' };

export class CredentialStore implements CredentialAdmin, CredentialSource {
  readonly hasher: Hasher;
  readonly #backend: CredentialBackend;
  readonly #opts: Required<Omit<StoreOptions, 'logger' | 'hasher'>> & { logger?: AppLogger };
  #current: StoredDoc = EMPTY;
  #listeners = new Set<(changed: string[]) => void>();
  #refreshing: Promise<boolean> | undefined;
  #lastRefresh = -Infinity;
  #started = false;

  constructor(backend: CredentialBackend, opts: StoreOptions = {}) {
    this.#backend = backend;
    this.hasher = opts.hasher ?? new Hasher();
    this.#opts = {
      minRefreshIntervalMs: opts.minRefreshIntervalMs ?? 1000,
      maxWriteAttempts: opts.maxWriteAttempts ?? 10,
      now: opts.now ?? Date.now,
      logger: opts.logger,
    };
  }

  get location(): string {
    return this.#backend.location;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#backend.start((stored) => this.#accept(stored ?? EMPTY, stored === undefined));
  }

  stop(): void {
    this.#started = false;
    this.#backend.stop();
  }

  waitForSync(): Promise<void> {
    return this.#backend.waitForSync();
  }

  snapshot(): StoredDoc {
    return this.#current;
  }

  onChange(listener: (changed: string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  refresh(): Promise<boolean> {
    if (this.#refreshing) return this.#refreshing;
    if (this.#opts.now() - this.#lastRefresh < this.#opts.minRefreshIntervalMs) return Promise.resolve(false);
    this.#lastRefresh = this.#opts.now();
    this.#refreshing = (async () => {
      try {
        const before = this.#current.version;
        const stored = await this.#backend.read();
        this.#accept(stored ?? EMPTY, stored === undefined);
        return this.#current.version !== before;
      } catch (err) {
        this.#opts.logger?.warning({ err, location: this.location }, 'credentials: re-read failed');
        return false;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async createOrUpdate(name: string, opts: { password?: string; groups: readonly string[] }): Promise<{ created: boolean; changed: boolean }> {
    checkCredentialName(name);
    const groups = checkGroups(opts.groups);
    const password = opts.password;
    if (password !== undefined) checkPassword(password);
    // The same password again keeps the stored hash: a restart with unchanged
    // start-up users writes nothing and invalidates no cache.
    const verified = new Map<string, boolean>();
    let fresh: string | undefined;
    let created = false;
    const changed = await this.#mutate(async (doc) => {
      const existing = doc.credentials[name];
      created = existing === undefined;
      const entry: CredentialEntry = existing ? structuredClone(existing) : { groups, tokens: [], updated: '' };
      entry.groups = groups;
      if (password !== undefined) {
        const stored = entry.password;
        let same = false;
        if (stored !== undefined) {
          if (!verified.has(stored)) verified.set(stored, await this.hasher.verify(password, stored));
          same = verified.get(stored) === true;
        }
        if (!same) entry.password = fresh ??= await this.hasher.hash(password);
      }
      if (existing && JSON.stringify({ ...entry, updated: '' }) === JSON.stringify({ ...existing, updated: '' })) return false;
      entry.updated = new Date(this.#opts.now()).toISOString();
      doc.credentials[name] = entry;
      return true;
    });
    return { created, changed };
  }

  async remove(name: string): Promise<boolean> {
    return this.#mutate(async (doc) => {
      if (!doc.credentials[name]) return false;
      delete doc.credentials[name];
      return true;
    });
  }

  async setGroups(name: string, groups: readonly string[]): Promise<void> {
    const checked = checkGroups(groups);
    await this.#mutate(async (doc) => {
      const entry = doc.credentials[name];
      if (!entry) throw new CredentialError(`No credential named "${name}".`);
      if (JSON.stringify(entry.groups) === JSON.stringify(checked)) return false;
      entry.groups = checked;
      entry.updated = new Date(this.#opts.now()).toISOString();
      return true;
    });
  }

  /** Creates a token for `name` and returns it: the only time its text is available. */
  async createToken(name: string): Promise<string> {
    let id = newTokenId();
    let token = formatToken(id);
    let hash = await this.hasher.hash(token);
    await this.#mutate(async (doc) => {
      const entry = doc.credentials[name];
      if (!entry) throw new CredentialError(`No credential named "${name}".`);
      if (findToken(doc, id)) {
        id = newTokenId();
        token = formatToken(id);
        hash = await this.hasher.hash(token);
      }
      entry.tokens.push({ id, hash, created: new Date(this.#opts.now()).toISOString() });
      entry.updated = new Date(this.#opts.now()).toISOString();
      return true;
    });
    return token;
  }

  /** Revokes one token (by its id, or `all`); false when there was none. */
  async revokeToken(name: string, tokenId: string): Promise<boolean> {
    return this.#mutate(async (doc) => {
      const entry = doc.credentials[name];
      if (!entry) throw new CredentialError(`No credential named "${name}".`);
      const kept = tokenId === 'all' ? [] : entry.tokens.filter((t) => t.id !== tokenId);
      if (kept.length === entry.tokens.length) return false;
      entry.tokens = kept;
      entry.updated = new Date(this.#opts.now()).toISOString();
      return true;
    });
  }

  /** Names, groups and token ids (never hashes), read from the source (not the watch cache). */
  async list(): Promise<CredentialSummary[]> {
    const stored = (await this.#backend.read()) ?? EMPTY;
    return Object.entries(stored.doc.credentials)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, entry]) => ({
        name,
        groups: [...entry.groups],
        hasPassword: entry.password !== undefined,
        tokens: entry.tokens.map((t) => ({ id: t.id, created: t.created })),
        updated: entry.updated,
      }));
  }

  /**
   * Read, edit, write with the version read; on a conflict (another writer in
   * between) read again and redo the edit. `edit` returns false for "nothing to write".
   */
  async #mutate(edit: (doc: CredentialDoc) => Promise<boolean>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const base = await this.#backend.read();
      const doc = structuredClone(base?.doc ?? emptyDoc());
      if (!(await edit(doc))) return false;
      const result = await this.#backend.write(doc, base?.version);
      if (result !== 'conflict') {
        this.#accept(result, false);
        return true;
      }
      if (attempt >= this.#opts.maxWriteAttempts) {
        throw new Error(`credentials: ${this.location} kept changing; gave up after ${attempt} attempts`);
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt) * Math.random()));
    }
  }

  /** Takes a new state unless it is older than the one held (a late watch event after our own write). */
  #accept(stored: StoredDoc, gone: boolean): void {
    const previous = this.#current;
    if (stored.version === previous.version && !gone) return;
    if (!gone && isOlder(stored.version, previous.version)) return;
    this.#current = stored;
    const changed = changedCredentials(previous.doc, stored.doc);
    if (changed.length === 0) return;
    this.#opts.logger?.info({ changed, location: this.location }, 'credentials changed');
    for (const listener of this.#listeners) listener(changed);
  }
}

/** resourceVersions are opaque, but in practice integers; compare only when both are. */
function isOlder(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

const MAX_PASSWORD = 1024;

function checkPassword(password: string): void {
  if (password.length === 0) throw new CredentialError('The password is empty.');
  if (password.length > MAX_PASSWORD) throw new CredentialError(`The password is longer than ${MAX_PASSWORD} characters.`);
  if (/[\r\n\0]/.test(password)) throw new CredentialError('The password contains a line break or NUL character.');
}

export interface KubeStoreOptions extends StoreOptions {
  gateway: KubeGateway;
  /** The manager's namespace. */
  namespace: string;
  /** DEPLOYMENT_NAME: the Secret is `<deploymentName>-credentials`. */
  deploymentName: string;
}

/** The store on its Secret in the cluster. Call start() (and waitForSync()) before authenticating. */
export function createCredentialStore(opts: KubeStoreOptions): CredentialStore {
  const { gateway, namespace, deploymentName, ...rest } = opts;
  const backend = new KubeSecretBackend({
    gateway,
    namespace,
    secretName: credentialsSecretName(deploymentName),
    onProblems: (problems) => rest.logger?.warning({ problems }, 'credentials: some entries could not be read'),
  });
  return new CredentialStore(backend, rest);
}
