// What this process just wrote, laid over a watch cache until the watch shows
// it: a request that follows a write (a poll after a start, a GET after a POST,
// a second click) must not see the state from before it. Shared by every room
// that writes objects it also reads from a watch (services, userjobs).
//
// Kept only for `bridgeMs` at most: after that the watch is the truth even if
// it is late, so a write whose watch event never comes cannot pin an answer.
import type { KubeObject } from './objects.js';

/** Object versions in order. etcd's resourceVersions are increasing integers; anything else counts as 0. */
const versionOf = (o: KubeObject | undefined): number => Number(o?.metadata.resourceVersion ?? 0) || 0;

export class OwnWrites<T> {
  readonly #objectOf: (value: T) => KubeObject;
  readonly #bridgeMs: number;
  readonly #now: () => number;
  /** Written values by key, with when. */
  readonly #written = new Map<string, { value: T; at: number }>();
  /** uids this process deleted that the watch may still show, with when. */
  readonly #deleted = new Map<string, number>();

  /**
   * @param objectOf the Kubernetes object a value stands for (its uid and resourceVersion are compared)
   * @param bridgeMs how long a write is laid over the watch at most
   */
  constructor(objectOf: (value: T) => KubeObject, opts: { bridgeMs: number; now?: () => number }) {
    this.#objectOf = objectOf;
    this.#bridgeMs = opts.bridgeMs;
    this.#now = opts.now ?? Date.now;
  }

  /** This process wrote `value` under `key` (a create, an update or a patch answer). */
  wrote(key: string, value: T): void {
    // Deleted first so that the map stays in time order (#expire stops at the first fresh one).
    this.#written.delete(key);
    this.#written.set(key, { value, at: this.#now() });
  }

  /** This process deleted the object with this uid: hide it, whatever the watch still says. */
  deleted(uid: string | undefined): void {
    if (!uid) return;
    this.#deleted.delete(uid);
    this.#deleted.set(uid, this.#now());
  }

  /** Forgets the write under `key` (the caller knows it is over). */
  forget(key: string): void {
    this.#written.delete(key);
  }

  /** True if this process deleted the object (within the bridge time). */
  isDeleted(object: KubeObject | undefined): boolean {
    this.#expire();
    return this.#hidden(object);
  }

  /**
   * The freshest view of `key`: the watch's value unless this process wrote a
   * newer version (or deleted the watched one) that the watch has not shown yet.
   */
  view(key: string, watched: T | undefined): T | undefined {
    this.#expire();
    const seen = watched !== undefined && !this.#hidden(this.#objectOf(watched)) ? watched : undefined;
    const own = this.#written.get(key);
    if (!own) return seen;
    const ownObject = this.#objectOf(own.value);
    const superseded = seen !== undefined && versionOf(this.#objectOf(seen)) >= versionOf(ownObject);
    if (superseded || this.#hidden(ownObject)) {
      this.#written.delete(key);
      return seen;
    }
    return own.value;
  }

  /** Keys with a write still laid over the watch. */
  keys(): IterableIterator<string> {
    this.#expire();
    return this.#written.keys();
  }

  /** Values still laid over the watch. */
  *values(): IterableIterator<T> {
    this.#expire();
    for (const { value } of this.#written.values()) yield value;
  }

  #hidden(object: KubeObject | undefined): boolean {
    const uid = object?.metadata.uid;
    return uid !== undefined && this.#deleted.has(uid);
  }

  #expire(): void {
    const oldest = this.#now() - this.#bridgeMs;
    for (const [key, { at }] of this.#written) {
      if (at >= oldest) break;
      this.#written.delete(key);
    }
    for (const [uid, at] of this.#deleted) {
      if (at >= oldest) break;
      this.#deleted.delete(uid);
    }
  }
}
