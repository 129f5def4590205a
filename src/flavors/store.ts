// The reservation books in the cluster: one ConfigMap per credential, changed
// only by compare-and-swap (replace with the resourceVersion that was read; on
// 409 read again and decide again), so the capacity decision holds across
// concurrent requests and any number of replicas. Within one process the
// requests for one credential are committed in batches (one write for all that
// arrived meanwhile), so a burst of starts costs a few writes, not one
// conflict-and-retry round per start. A watch cache of the books answers
// usage questions (GET /api/flavors/, metrics, pushes) without an API call.
import { setTimeout as sleep } from 'node:timers/promises';
import { unavailableError } from '../errors.js';
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { Reflector } from '../kube/reflector.js';
import { labelValue } from '../templates/names.js';
import { LABELS, MANAGED_BY } from '../templates/objects.js';
import { parseBook, serializeReservation, type Book, type Decision, type Reservation } from './capacity.js';
import { bookCredential, bookName, bookSelector, buildBook, type BookObject } from './objects.js';

type Settle<T> = { resolve: (value: T) => void; reject: (err: unknown) => void };

type Op =
  | ({ kind: 'reserve'; key: string; reservation: Reservation; check: (book: Book) => Decision } & Settle<Decision>)
  | ({ kind: 'release'; key: string } & Settle<boolean>)
  | ({ kind: 'prune'; keys: ReadonlyMap<string, string> } & Settle<number>);

export interface ReservationStoreOptions {
  gateway: KubeGateway;
  namespace: string;
  /** DEPLOYMENT_NAME: part of the books' names and labels. */
  instance: string;
  /** Compare-and-swap rounds before a commit gives up (503). */
  maxAttempts?: number;
}

export class ReservationStore {
  readonly #opts: Required<ReservationStoreOptions>;
  readonly reflector: Reflector<KubeObject>;
  /** The newest book this process has seen per credential (its own writes, reads and the watch). */
  readonly #latest = new Map<string, BookObject>();
  readonly #queues = new Map<string, Op[]>();
  readonly #flushing = new Set<string>();
  /** Called after every successful write, with the credential. */
  onChange: (credential: string) => void = () => {};

  constructor(opts: ReservationStoreOptions) {
    this.#opts = { maxAttempts: 40, ...opts };
    this.reflector = new Reflector<KubeObject>(opts.gateway, {
      apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: opts.namespace, labelSelector: bookSelector(opts.instance), name: 'flavor books',
    }, {
      onUpsert: (obj) => {
        const credential = bookCredential(obj);
        if (credential !== undefined) this.#latest.set(credential, obj as unknown as BookObject);
      },
      onDelete: (obj) => {
        const credential = bookCredential(obj);
        if (credential !== undefined) this.#latest.delete(credential);
      },
    });
  }

  start(): void {
    this.reflector.start();
  }

  stop(): void {
    this.reflector.stop();
  }

  waitForSync(): Promise<void> {
    return this.reflector.waitForSync();
  }

  /** The reservations of a credential as last seen (no API call). */
  book(credential: string): Book {
    return parseBook(this.#latest.get(credential)?.data);
  }

  /** Credentials that have a book. */
  credentials(): string[] {
    return [...this.#latest.keys()];
  }

  /**
   * Takes `key` when `check` (run on the book as it is in the cluster, with
   * every earlier request of the same batch applied) allows it. A key that is
   * already taken counts as taken by this request (a retried commit).
   */
  reserve(credential: string, key: string, reservation: Reservation, check: (book: Book) => Decision): Promise<Decision> {
    return new Promise((resolve, reject) => this.#enqueue(credential, { kind: 'reserve', key, reservation, check, resolve, reject }));
  }

  /** Removes `key`; true when it was there. */
  release(credential: string, key: string): Promise<boolean> {
    return new Promise((resolve, reject) => this.#enqueue(credential, { kind: 'release', key, resolve, reject }));
  }

  /** Removes each key whose reservation still has the given `at` (so a key taken again meanwhile stays). */
  prune(credential: string, keys: ReadonlyMap<string, string>): Promise<number> {
    return new Promise((resolve, reject) => this.#enqueue(credential, { kind: 'prune', keys, resolve, reject }));
  }

  #enqueue(credential: string, op: Op): void {
    let queue = this.#queues.get(credential);
    if (!queue) this.#queues.set(credential, (queue = []));
    queue.push(op);
    void this.#flush(credential);
  }

  async #flush(credential: string): Promise<void> {
    if (this.#flushing.has(credential)) return;
    this.#flushing.add(credential);
    try {
      const queue = this.#queues.get(credential) ?? [];
      while (queue.length > 0) {
        const ops = queue.splice(0);
        try {
          await this.#commit(credential, ops);
        } catch (err) {
          for (const op of ops) op.reject(err);
        }
      }
    } finally {
      this.#flushing.delete(credential);
    }
  }

  async #read(credential: string): Promise<BookObject | undefined> {
    const name = bookName(this.#opts.instance, credential);
    const obj = await this.#opts.gateway.read<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: this.#opts.namespace } });
    if (obj) this.#latest.set(credential, obj as unknown as BookObject);
    return obj as unknown as BookObject | undefined;
  }

  async #commit(credential: string, ops: Op[]): Promise<void> {
    let current = this.#latest.get(credential);
    // A write proves the copy it started from (compare-and-swap); a decision that
    // writes nothing (a refusal, an absent key) must come from a fresh read.
    let fresh = false;
    if (!current) {
      current = await this.#read(credential);
      fresh = true;
    }
    for (let attempt = 1; ; attempt++) {
      const book = parseBook(current?.data);
      const data: Record<string, string> = { ...current?.data };
      let changed = false;
      const outcomes: Array<() => void> = [];
      for (const op of ops) {
        switch (op.kind) {
          case 'reserve': {
            let decision: Decision;
            if (book.has(op.key)) decision = { ok: true };
            else {
              decision = op.check(book);
              if (decision.ok) {
                book.set(op.key, op.reservation);
                data[op.key] = serializeReservation(op.reservation);
                changed = true;
              }
            }
            outcomes.push(() => op.resolve(decision));
            break;
          }
          case 'release': {
            const had = op.key in data;
            if (had) {
              delete data[op.key];
              book.delete(op.key);
              changed = true;
            }
            outcomes.push(() => op.resolve(had));
            break;
          }
          case 'prune': {
            let removed = 0;
            for (const [key, at] of op.keys) {
              if (book.get(key)?.at === at) {
                delete data[key];
                book.delete(key);
                removed++;
              }
            }
            if (removed) changed = true;
            outcomes.push(() => op.resolve(removed));
            break;
          }
        }
      }
      if (!changed) {
        if (!fresh) {
          current = await this.#read(credential);
          fresh = true;
          continue;
        }
        for (const settle of outcomes) settle();
        return;
      }
      const written = await this.#write(credential, current, data);
      if (written !== 'conflict') {
        this.#latest.set(credential, written);
        for (const settle of outcomes) settle();
        this.onChange(credential);
        return;
      }
      if (attempt >= this.#opts.maxAttempts) {
        throw unavailableError('Could not reserve capacity for this flavor, try again.', `the flavor book of ${credential} kept changing (${attempt} attempts)`);
      }
      // Another replica wrote in between: read what it wrote and decide again.
      await sleep(Math.min(500, 10 * attempt) * (0.5 + Math.random()));
      current = await this.#read(credential);
      fresh = true;
    }
  }

  async #write(credential: string, current: BookObject | undefined, data: Record<string, string>): Promise<BookObject | 'conflict'> {
    const gateway = this.#opts.gateway;
    if (!current) {
      const result = await gateway.create(buildBook(this.#opts.instance, this.#opts.namespace, credential, data) as unknown as KubeObject);
      return result.created ? (result.object as unknown as BookObject) : 'conflict';
    }
    const result = await gateway.replace({ ...current, data } as unknown as KubeObject);
    // Gone: deleted by hand meanwhile; the next round creates it again.
    if (result === 'gone') this.#latest.delete(credential);
    return result === 'conflict' || result === 'gone' ? 'conflict' : (result as unknown as BookObject);
  }
}

/**
 * The starts of a credential that have an anchor now, as `servername\0start_id`
 * label values (one list call): what pruning checks before it removes a
 * reservation.
 */
export async function listAnchoredStarts(gateway: KubeGateway, namespace: string, instance: string, credential: string): Promise<Set<string>> {
  const selector = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.instance}=${labelValue(instance)},${LABELS.role}=anchor,${LABELS.credential}=${labelValue(credential)}`;
  const anchors = await gateway.list<KubeObject>('v1', 'ConfigMap', namespace, selector);
  const out = new Set<string>();
  for (const a of anchors) {
    const labels = a.metadata.labels ?? {};
    const servername = labels[LABELS.servername];
    const startId = labels[LABELS.startId];
    if (servername && startId) out.add(anchoredKey(servername, startId));
  }
  return out;
}

/** The key listAnchoredStarts uses for a start. */
export function anchoredKey(servername: string, startId: string): string {
  return `${labelValue(servername)}\0${labelValue(startId)}`;
}
