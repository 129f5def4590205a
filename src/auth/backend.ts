// Where the credentials document is kept. The manager uses the Kubernetes
// Secret (kube-backend.ts); unit tests use MemoryBackend, which behaves the
// same way (versions, conflicts, change notifications to every subscriber).
import type { CredentialDoc } from './document.js';

export interface StoredDoc {
  doc: CredentialDoc;
  /** Opaque version (the Secret's resourceVersion) for optimistic concurrency. */
  version: string;
}

export interface CredentialBackend {
  /** Starts watching; `onChange` gets every new state (undefined: the document is gone). */
  start(onChange: (stored: StoredDoc | undefined) => void): void;
  stop(): void;
  /** Resolves once the first state has been delivered to onChange. */
  waitForSync(): Promise<void>;
  /** The current state, read from the source itself (not a cache). */
  read(): Promise<StoredDoc | undefined>;
  /** Writes `doc` if the stored version is still `expected` (undefined: create). */
  write(doc: CredentialDoc, expected: string | undefined): Promise<StoredDoc | 'conflict'>;
  /** Where the document lives, for messages (e.g. `Secret ns/name`). */
  readonly location: string;
}

/** In-process backend; several CredentialStores on one MemoryBackend behave like replicas. */
export class MemoryBackend implements CredentialBackend {
  #state: { text: string; version: number } | undefined;
  #listeners = new Set<(stored: StoredDoc | undefined) => void>();
  #counter = 0;
  readonly location = 'memory';
  /** Serialized document as stored (to check what would reach the cluster). */
  get raw(): string | undefined {
    return this.#state?.text;
  }

  start(onChange: (stored: StoredDoc | undefined) => void): void {
    this.#listeners.add(onChange);
    onChange(this.#decode());
  }

  stop(): void {
    this.#listeners.clear();
  }

  async waitForSync(): Promise<void> {}

  async read(): Promise<StoredDoc | undefined> {
    return this.#decode();
  }

  async write(doc: CredentialDoc, expected: string | undefined): Promise<StoredDoc | 'conflict'> {
    const current = this.#state === undefined ? undefined : String(this.#state.version);
    if (current !== expected) return 'conflict';
    this.#state = { text: JSON.stringify(doc), version: ++this.#counter };
    const stored = this.#decode()!;
    for (const listener of this.#listeners) queueMicrotask(() => listener(this.#decode()));
    return stored;
  }

  #decode(): StoredDoc | undefined {
    if (!this.#state) return undefined;
    return { doc: JSON.parse(this.#state.text) as CredentialDoc, version: String(this.#state.version) };
  }
}
