// Which manager processes are alive, as every replica can see it in the
// cluster. Each process keeps a coordination.k8s.io Lease of its own,
// `<DEPLOYMENT_NAME>-replica-<hash of its process id>` in the manager's
// namespace (holderIdentity `<replica>_<boot>`), renews it a few times per
// lease duration and deletes it when it stops gracefully. Every process watches
// all of them (a Reflector in the gateway's registry), and judges them by its
// own clock as the Lease election does: a record whose spec has not changed for
// its duration since this process first saw it is expired, its process gone
// (dead, frozen or cut off; if it comes back it finds itself taken for gone).
//
// What it decides: whether the process that took a start is gone (the anchor
// names it, services/lifecycle.ts), and the operators' list of processes. A
// record absent from the cache is a claim to check, not a fact: a process
// writes its record before it serves, so a read that finds no record of a
// creator named on an anchor proves that creator stopped (`confirmAbsent`).
// The leader removes records that expired a while ago (a process killed
// without a word leaves one).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeGateway } from './gateway.js';
import { parseProcessId, processId, type ProcessIdentity } from './identity.js';
import { microTime, type Lease } from './lease.js';
import { Reflector, type ListWatchSource } from './reflector.js';

export const PRESENCE_LABELS = { 'app.kubernetes.io/managed-by': 'k8smgr', 'app.kubernetes.io/component': 'replica' } as const;
const INSTANCE_LABEL = 'k8smgr.io/instance';

/** Facts shown on the operators' page, written once with the record. */
export const PRESENCE_ANNOTATIONS = { replica: 'k8smgr.io/replica', process: 'k8smgr.io/process', pid: 'k8smgr.io/pid', started: 'k8smgr.io/started' } as const;

/**
 * What this process knows of another by its presence record: `live`,
 * `expired` (gone), `absent` (no record in the cache: gone once a read
 * confirms it), `unknown` (not a process id, e.g. a name written by an older
 * version, or the cache has not listed yet).
 */
export type PresenceState = 'live' | 'expired' | 'absent' | 'unknown';

/** The record's name: the deployment's, and a hash of the process id (ids need not be valid names). */
export function presenceName(deploymentName: string, id: string): string {
  return `${deploymentName}-replica-${createHash('sha256').update(id).digest('hex').slice(0, 10)}`;
}

export function presenceSelector(deploymentName: string): string {
  return [...Object.entries(PRESENCE_LABELS), [INSTANCE_LABEL, deploymentName]].map(([k, v]) => `${k}=${v}`).join(',');
}

/** A process's record as it first writes it (pure). */
export function presenceRecord(o: {
  namespace: string;
  deploymentName: string;
  identity: ProcessIdentity;
  durationSeconds: number;
  now: number;
  pid: number;
  started: string;
}): Lease {
  const id = processId(o.identity);
  const stamp = microTime(o.now);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: presenceName(o.deploymentName, id),
      namespace: o.namespace,
      labels: { ...PRESENCE_LABELS, [INSTANCE_LABEL]: o.deploymentName },
      annotations: {
        [PRESENCE_ANNOTATIONS.replica]: o.identity.replica,
        [PRESENCE_ANNOTATIONS.process]: o.identity.boot,
        [PRESENCE_ANNOTATIONS.pid]: String(o.pid),
        [PRESENCE_ANNOTATIONS.started]: o.started,
      },
    },
    spec: { holderIdentity: id, leaseDurationSeconds: o.durationSeconds, acquireTime: stamp, renewTime: stamp },
  };
}

/** The record renewed at `now` (pure): a new renewTime, the rest as read (its resourceVersion makes the write conditional). */
export function renewedRecord(lease: Lease, now: number): Lease {
  return { ...lease, metadata: { ...lease.metadata }, spec: { ...lease.spec, renewTime: microTime(now) } };
}

/**
 * A record as this observer saw it: `at` is when its spec was first seen as it
 * is now (this process's clock). Live while `at` + its duration is ahead.
 */
export function sightingState(lease: Lease | undefined, at: number, now: number): 'live' | 'expired' | 'absent' {
  if (!lease) return 'absent';
  return at + (lease.spec?.leaseDurationSeconds ?? 0) * 1000 > now ? 'live' : 'expired';
}

const specOf = (lease: Lease): string => JSON.stringify(lease.spec ?? {});

/** One process as the operators' page lists it. */
export interface ProcessView {
  /** `<replica>_<boot>`. */
  id: string;
  replica: string;
  /** The process's random id (not its OS pid). */
  boot: string;
  self: boolean;
  /** False once its record expired by this process's clock (it stays listed until removed). */
  live: boolean;
  /** When this process last saw the record change (its own clock), ISO. */
  lastSeen: string;
  pid?: number;
  started?: string;
}

export interface PresenceOptions {
  gateway: Pick<KubeGateway, 'create' | 'replace' | 'read' | 'delete'> & ListWatchSource;
  /** The manager's namespace (beside the leader Lease). */
  namespace: string;
  deploymentName: string;
  identity: ProcessIdentity;
  /** A record unchanged this long by the observer's clock is expired (whole seconds; the lease duration). */
  durationMs: number;
  /** How often this process renews its record. Default: a third of the duration. */
  renewEveryMs?: number;
  /** While this returns true (the leader), records expired longer than `collectAfterMs` are deleted. */
  collect?: () => boolean;
  /** Default 60 s. */
  collectAfterMs?: number;
  pid?: number;
  started?: string;
  now?: () => number;
  log: {
    info(fields: Record<string, unknown>, message: string): void;
    warning(fields: Record<string, unknown>, message: string): void;
  };
}

export class ReplicaPresence {
  readonly #o: PresenceOptions;
  readonly #id: string;
  readonly #name: string;
  readonly #now: () => number;
  readonly #watch: Reflector<Lease>;
  /** Record name -> when its current spec was first seen (this process's clock). */
  readonly #seenAt = new Map<string, number>();
  /** This process's record as last written (its resourceVersion for the next renewal). */
  #mine: Lease | undefined;
  #lastWrite = 0;
  #running = false;
  #stopper = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> = Promise.resolve();

  constructor(opts: PresenceOptions) {
    this.#o = opts;
    this.#id = processId(opts.identity);
    this.#name = presenceName(opts.deploymentName, this.#id);
    this.#now = opts.now ?? Date.now;
    this.#watch = new Reflector<Lease>(opts.gateway, {
      name: 'replica presence', apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespace: opts.namespace,
      labelSelector: presenceSelector(opts.deploymentName),
    }, {
      onUpsert: (lease, previous) => {
        if (!previous || specOf(previous) !== specOf(lease) || !this.#seenAt.has(lease.metadata.name)) this.#seenAt.set(lease.metadata.name, this.#now());
      },
      onDelete: (lease) => this.#seenAt.delete(lease.metadata.name),
    });
  }

  /** This process's id, `<replica>_<boot>`. */
  get id(): string {
    return this.#id;
  }

  get #renewEveryMs(): number {
    return this.#o.renewEveryMs ?? Math.max(200, Math.floor(this.#o.durationMs / 3));
  }

  /**
   * Watches every record and writes this process's own; resolves once it is
   * written (retrying with backoff while the apiserver refuses or does not
   * answer): a process must be present before it takes a start.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#watch.start();
    for (let attempt = 1; this.#running; attempt++) {
      try {
        await this.#write();
        break;
      } catch (err) {
        if (attempt === 1 || attempt % 10 === 0) this.#o.log.warning({ lease: this.#name, attempt, err: (err as Error).message }, 'presence record not written yet; trying again');
        await sleep(Math.min(10_000, 250 * 2 ** attempt), undefined, { signal: this.#stopper.signal }).catch(() => undefined);
      }
    }
    this.#schedule();
  }

  /** Resolves once the records have been listed. */
  waitForSync(): Promise<void> {
    return this.#watch.waitForSync();
  }

  /** Stops renewing and deletes this process's record: the others know at once that it is gone. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stopper.abort();
    clearTimeout(this.#timer);
    await this.#renewing;
    const mine = this.#mine;
    if (mine) {
      await this.#o.gateway.delete({ apiVersion: mine.apiVersion, kind: mine.kind, metadata: { name: mine.metadata.name, namespace: this.#o.namespace, uid: mine.metadata.uid ?? '' } })
        .catch((err: unknown) => this.#o.log.warning({ lease: this.#name, err: (err as Error).message }, 'presence record not deleted; it expires'));
    }
    this.#watch.stop();
  }

  /** What the records say of the process `id` now (pure over the cache). */
  state(id: string): PresenceState {
    if (id === this.#id) return 'live';
    if (!parseProcessId(id) || !this.#watch.status.synced) return 'unknown';
    const name = presenceName(this.#o.deploymentName, id);
    const lease = this.#watch.get(name);
    if (!lease || lease.spec?.holderIdentity !== id) return 'absent';
    return sightingState(lease, this.#seenAt.get(name) ?? this.#now(), this.#now());
  }

  /** A read, not the cache: true when the apiserver has no record of `id` (so that process stopped). */
  async confirmAbsent(id: string): Promise<boolean> {
    if (id === this.#id || !parseProcessId(id)) return false;
    const read = await this.#o.gateway.read<Lease>(this.#ref(presenceName(this.#o.deploymentName, id)));
    return !read || read.spec?.holderIdentity !== id;
  }

  /** Every process with a record, this one first, then by name and start. */
  processes(): ProcessView[] {
    const now = this.#now();
    const views: ProcessView[] = [];
    let selfSeen = false;
    for (const lease of this.#watch.values()) {
      const id = lease.spec?.holderIdentity ?? '';
      const identity = parseProcessId(id);
      if (!identity) continue;
      const self = id === this.#id;
      selfSeen ||= self;
      const at = this.#seenAt.get(lease.metadata.name) ?? now;
      const a = lease.metadata.annotations ?? {};
      const pid = Number(a[PRESENCE_ANNOTATIONS.pid]);
      views.push({
        id, replica: identity.replica, boot: identity.boot, self,
        live: self || sightingState(lease, at, now) === 'live',
        lastSeen: new Date(self ? now : at).toISOString(),
        ...(Number.isInteger(pid) && pid > 0 ? { pid } : {}),
        ...(a[PRESENCE_ANNOTATIONS.started] ? { started: a[PRESENCE_ANNOTATIONS.started] } : {}),
      });
    }
    if (!selfSeen) {
      views.push({
        id: this.#id, ...this.#o.identity, self: true, live: true, lastSeen: new Date(now).toISOString(),
        ...(this.#o.pid ? { pid: this.#o.pid } : {}), ...(this.#o.started ? { started: this.#o.started } : {}),
      });
    }
    return views.sort((a, b) => Number(b.self) - Number(a.self) || a.replica.localeCompare(b.replica) || (a.started ?? '').localeCompare(b.started ?? ''));
  }

  #ref(name: string) {
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: this.#o.namespace } };
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#renewing = this.#renew().finally(() => this.#schedule());
    }, this.#renewEveryMs);
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    const late = this.#now() - this.#lastWrite;
    try {
      await this.#write();
      if (late >= this.#o.durationMs) {
        // Frozen, starved or cut off: the others took this process for gone meanwhile.
        this.#o.log.warning({ lease: this.#name, seconds: Math.round(late / 1000) },
          'presence renewed late: the other replicas took this process for gone (its unfinished starts are marked interrupted)');
      }
    } catch (err) {
      this.#o.log.warning({ lease: this.#name, err: (err as Error).message }, 'presence record not renewed; trying again');
    }
    if (this.#o.collect?.()) await this.#collect().catch(() => undefined);
  }

  /** Creates or renews this process's record (conditional on the version last written or read). */
  async #write(): Promise<void> {
    const now = this.#now();
    let written: Lease | 'conflict' | 'gone' = 'gone';
    if (this.#mine) written = await this.#o.gateway.replace(renewedRecord(this.#mine, now));
    if (written === 'conflict') {
      const read = await this.#o.gateway.read<Lease>(this.#ref(this.#name));
      written = read ? await this.#o.gateway.replace(renewedRecord(read, now)) : 'gone';
    }
    if (written === 'gone') {
      if (this.#mine) this.#o.log.info({ lease: this.#name }, 'presence record was removed (this process was taken for gone): writing it again');
      const fresh = presenceRecord({
        namespace: this.#o.namespace, deploymentName: this.#o.deploymentName, identity: this.#o.identity,
        durationSeconds: Math.round(this.#o.durationMs / 1000), now, pid: this.#o.pid ?? 0, started: this.#o.started ?? new Date(now).toISOString(),
      });
      const created = await this.#o.gateway.create(fresh);
      written = created.created ? created.object : ((await this.#o.gateway.read<Lease>(this.#ref(this.#name))) ?? 'gone');
    }
    if (typeof written === 'string') throw new Error(`presence record ${this.#name}: ${written}`);
    this.#mine = written;
    this.#lastWrite = now;
  }

  /** The leader's clean-up: records that expired (by its clock) longer ago than `collectAfterMs`. */
  async #collect(): Promise<void> {
    if (!this.#watch.status.synced) return;
    const now = this.#now();
    const after = this.#o.collectAfterMs ?? 60_000;
    for (const lease of [...this.#watch.values()]) {
      const name = lease.metadata.name;
      if (name === this.#name) continue;
      const expiredAt = (this.#seenAt.get(name) ?? now) + (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
      if (now - expiredAt < after) continue;
      const deleted = await this.#o.gateway.delete({ ...this.#ref(name), metadata: { ...this.#ref(name).metadata, uid: lease.metadata.uid ?? '' } }, { resourceVersion: lease.metadata.resourceVersion ?? '' });
      if (deleted) this.#o.log.info({ lease: name, process: lease.spec?.holderIdentity ?? '' }, 'presence record of a gone process removed');
    }
  }
}
