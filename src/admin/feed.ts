// The live feed of the admin page: the services table kept from the watch
// caches (ServiceCache.subscribe, no timer), with changes coalesced into one
// batch per `batchMs` and handed to every listener (the page's event streams),
// and the starts/failures per minute.
import type { KubeObject } from '../kube/gateway.js';
import { eventTime, type EventView, type PodView } from '../status/interpret.js';
import type { ServiceRecord } from '../services/types.js';
import { ActivityTracker, type ActivitySeries } from './activity.js';
import { serviceRow, type ServiceRow, type VerdictView } from './views.js';

/** What the admin reads of the services' watch caches (ServiceCache fits). */
export interface AdminCache {
  all(): Iterable<{ record: ServiceRecord; anchor: KubeObject }>;
  byAnchor(anchorName: string): { record: ServiceRecord; anchor: KubeObject } | undefined;
  /** The pods of one start (the anchor name is shared by the starts of a servername). */
  podsOf(anchorName: string, startId: string): PodView[];
  eventsOf(podName: string): EventView[];
  subscribe(listener: (anchorName: string) => void): () => void;
}

export type FeedEvent =
  | { type: 'service'; row: ServiceRow }
  | { type: 'removed'; id: string }
  | { type: 'activity'; activity: ActivitySeries };

export interface FeedOptions {
  cache: AdminCache;
  verdictOf: (record: ServiceRecord, anchor: KubeObject) => VerdictView;
  mainContainer: () => string;
  batchMs?: number;
  now?: () => number;
}

interface Known {
  row: ServiceRow;
  uid: string;
  json: string;
}

export class LiveFeed {
  readonly #opts: FeedOptions;
  readonly #rows = new Map<string, Known>();
  readonly #pending = new Set<string>();
  readonly #listeners = new Set<(events: FeedEvent[]) => void>();
  readonly #activity: ActivityTracker;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(opts: FeedOptions) {
    this.#opts = opts;
    this.#activity = new ActivityTracker(opts.now);
  }

  /** Reads what the caches hold now and follows their changes (call after the caches synced). */
  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#opts.cache.subscribe((anchorName) => this.#changed(anchorName));
    const now = (this.#opts.now ?? Date.now)();
    for (const { anchor } of this.#opts.cache.all()) this.#refresh(anchor.metadata.name, true, now);
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }

  /** `listener` gets each batch of changes; returns the unsubscribe function. */
  listen(listener: (events: FeedEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  snapshot(): { services: ServiceRow[]; activity: ActivitySeries } {
    const services = [...this.#rows.values()].map((k) => k.row).sort((a, b) => b.started.localeCompare(a.started) || a.id.localeCompare(b.id));
    return { services, activity: this.#activity.series() };
  }

  row(id: string): ServiceRow | undefined {
    return this.#rows.get(id)?.row;
  }

  #changed(anchorName: string): void {
    this.#pending.add(anchorName);
    this.#timer ??= setTimeout(() => this.#flush(), this.#opts.batchMs ?? 200);
  }

  #flush(): void {
    this.#timer = undefined;
    const names = [...this.#pending];
    this.#pending.clear();
    const events: FeedEvent[] = [];
    let activityChanged = false;
    const now = (this.#opts.now ?? Date.now)();
    for (const name of names) {
      const outcome = this.#refresh(name, false, now);
      if (outcome.event) events.push(outcome.event);
      activityChanged ||= outcome.activity;
    }
    if (activityChanged) events.push({ type: 'activity', activity: this.#activity.series() });
    if (events.length === 0) return;
    for (const listener of this.#listeners) listener(events);
  }

  /** Recomputes one service's row; says what changed. `seeding`: the first read, when failures are dated by their events. */
  #refresh(name: string, seeding: boolean, now: number): { event?: FeedEvent; activity: boolean } {
    const found = this.#opts.cache.byAnchor(name);
    const known = this.#rows.get(name);
    if (!found) {
      if (!known) return { activity: false };
      this.#rows.delete(name);
      this.#activity.forget(known.uid);
      return { event: { type: 'removed', id: name }, activity: false };
    }
    const { record, anchor } = found;
    const pods = this.#opts.cache.podsOf(name, record.start_id);
    const row = serviceRow(record, anchor, pods, this.#opts.verdictOf(record, anchor), this.#opts.mainContainer());
    const uid = anchor.metadata.uid ?? `${name}/${record.start_id}`;
    let activity = false;
    if (known && known.uid !== uid) this.#activity.forget(known.uid);
    activity = this.#activity.start(uid, timeOf(anchor.metadata.creationTimestamp) || Date.parse(record.start_date) || now) || activity;
    if (row.state === 'failed') {
      const at = seeding ? this.#newestEvent(pods) || now : now;
      activity = this.#activity.failure(uid, at) || activity;
    }
    const json = JSON.stringify(row);
    this.#rows.set(name, { row, uid, json });
    if (known?.json === json) return { activity };
    return { event: { type: 'service', row }, activity };
  }

  #newestEvent(pods: readonly PodView[]): number {
    let newest = 0;
    for (const pod of pods) {
      for (const e of this.#opts.cache.eventsOf(pod.metadata.name)) {
        newest = Math.max(newest, eventTime(e));
      }
    }
    return newest;
  }
}

function timeOf(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  return typeof value === 'string' ? Date.parse(value) || 0 : 0;
}
