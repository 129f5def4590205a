// An in-memory apiserver for the objects of one namespace, enough for the
// Lease election, the presence records and a reflector over them: create,
// read, replace with resourceVersion compare-and-swap, delete with uid and
// resourceVersion preconditions, list and watch (events to every open watch).
// Pods can be merge-patched ('gone': there are none) and listed (none).
import { CacheRegistry } from '../../../src/kube/registry.js';
import type { ListWatchSource } from '../../../src/kube/reflector.js';
import type { CollectionRef, KubeObject, ListOptions, ObjectRef, WatchOptions } from '../../../src/kube/gateway.js';
import type { WatchEvent } from '../../../src/kube/rest.js';

export class FakeApi implements ListWatchSource {
  readonly caches = new CacheRegistry();
  readonly #store = new Map<string, KubeObject>();
  readonly #watchers = new Set<(event: WatchEvent) => void>();
  /** Every change, for a watch that starts from an older resourceVersion. */
  readonly #history: Array<{ rv: number; event: WatchEvent }> = [];
  #rv = 0;
  /** Every call fails while true (an apiserver that does not answer). */
  failing = false;
  /** Reads wait for this promise while it is set (a request in flight while its process is frozen). */
  hold: Promise<void> | undefined;
  readonly calls: string[] = [];

  get(name: string): KubeObject | undefined {
    const obj = this.#store.get(name);
    return obj ? structuredClone(obj) : undefined;
  }

  names(): string[] {
    return [...this.#store.keys()].sort();
  }

  #check(call: string): void {
    this.calls.push(call);
    if (this.failing) throw new Error('apiserver unreachable');
  }

  #emit(type: WatchEvent['type'], obj: KubeObject): void {
    const event = { type, object: structuredClone(obj) as never };
    this.#history.push({ rv: this.#rv, event });
    for (const w of this.#watchers) w(structuredClone(event));
  }

  async create<T extends KubeObject>(obj: T): Promise<{ created: true; object: T } | { created: false; conflict: true }> {
    this.#check(`create ${obj.metadata.name}`);
    if (this.#store.has(obj.metadata.name)) return { created: false, conflict: true };
    const stored: KubeObject = { ...structuredClone(obj), metadata: { ...structuredClone(obj.metadata), resourceVersion: String(++this.#rv), uid: `uid-${this.#rv}` } };
    this.#store.set(obj.metadata.name, stored);
    this.#emit('ADDED', stored);
    return { created: true, object: structuredClone(stored) as T };
  }

  async read<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    this.#check(`read ${ref.metadata.name}`);
    if (this.hold) await this.hold;
    return this.get(ref.metadata.name) as T | undefined;
  }

  async replace<T extends KubeObject>(obj: T): Promise<T | 'conflict' | 'gone'> {
    this.#check(`replace ${obj.metadata.name}`);
    const current = this.#store.get(obj.metadata.name);
    if (!current) return 'gone';
    if (current.metadata.resourceVersion !== obj.metadata.resourceVersion) return 'conflict';
    const stored: KubeObject = { ...structuredClone(obj), metadata: { ...structuredClone(obj.metadata), uid: current.metadata.uid, resourceVersion: String(++this.#rv) } };
    this.#store.set(obj.metadata.name, stored);
    this.#emit('MODIFIED', stored);
    return structuredClone(stored) as T;
  }

  async delete(ref: ObjectRef, opts: { resourceVersion?: string } = {}): Promise<boolean> {
    this.#check(`delete ${ref.metadata.name}`);
    const current = this.#store.get(ref.metadata.name);
    if (!current) return false;
    if (ref.metadata.uid && ref.metadata.uid !== current.metadata.uid) return false;
    if (opts.resourceVersion && opts.resourceVersion !== current.metadata.resourceVersion) return false;
    this.#store.delete(ref.metadata.name);
    this.#rv++;
    this.#emit('DELETED', { ...current, metadata: { ...current.metadata, resourceVersion: String(this.#rv) } });
    return true;
  }

  async mergePatch<T extends KubeObject>(ref: ObjectRef): Promise<T | 'gone'> {
    this.#check(`patch ${ref.kind} ${ref.metadata.name}`);
    return 'gone';
  }

  async list<T extends KubeObject>(): Promise<T[]> {
    return [];
  }

  async listPages(ref: CollectionRef, opts: ListOptions): Promise<string> {
    this.#check(`list ${ref.kind}`);
    opts.onPage([...this.#store.values()].filter((o) => o.kind === ref.kind).map((o) => structuredClone(o)));
    return String(this.#rv);
  }

  async watch(_ref: CollectionRef, opts: WatchOptions): Promise<void> {
    opts.onOpen?.();
    const watcher = (event: WatchEvent) => opts.onEvent(event);
    for (const { rv, event } of this.#history) if (rv > Number(opts.resourceVersion)) watcher(structuredClone(event));
    this.#watchers.add(watcher);
    return new Promise((_, reject) => opts.signal.addEventListener('abort', () => {
      this.#watchers.delete(watcher);
      reject(new Error('aborted'));
    }));
  }
}

/** Log lines as [level, message, fields]. */
export function recordingLog() {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => lines.push([level, message, fields]);
  return { lines, debug: at('debug'), info: at('info'), warning: at('warning') };
}

export async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
