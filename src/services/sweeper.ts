// The lifecycle sweeper: acts on what lifecycle.ts decides for each start.
// It records a failure once (so every later answer, on every replica, is that
// failure), marks starts whose creator is gone (kube/presence.ts), removes the workload of failed or
// ended starts after the grace period, removes their anchors after the
// retention, and removes expired stop markers. Driven by the watch caches and a
// short timer for deadlines; every write is conditional on the anchor's
// resourceVersion or uid, so replicas that act on the same observation do the
// work once.
import type { Config } from '../config/schema.js';
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import type { AppLogger } from '../logging/logger.js';
import type { CachedService, ServiceCache } from './cache.js';
import { ANNOTATIONS, judgeLifecycle, lifecycleOf, nextChore, type Chore, type ChorePolicy, type Presence } from './lifecycle.js';
import { releaseEnv } from './env-secret.js';
import type { ServiceManager, StartAdmission } from './manager.js';
import type { ServiceState } from './types.js';

export interface SweeperOptions {
  cache: ServiceCache;
  manager: Pick<ServiceManager, 'liveVerdict' | 'verdictWithLogs' | 'removeWorkload'>;
  gateway: Pick<KubeGateway, 'annotate' | 'delete' | 'read'>;
  config: () => Config;
  /**
   * Whether the process that took a start is alive (kube/presence.ts): `state` from the
   * watch cache, `confirmAbsent` a read before a start is marked for a creator without a record.
   */
  presence: { state: Presence; confirmAbsent(processId: string): Promise<boolean> };
  logger: AppLogger;
  admission?: Pick<StartAdmission, 'release' | 'releaseEnvKeys'>;
  /** A failure is recorded this long after it is first seen, so that the events about it are in. Default 0.5 s. */
  settleMs?: number;
  /** Deadlines (stop times, creation deadlines, clean-up) are checked this often. Default 2 s. */
  tickMs?: number;
  /** Stop markers are removed after this long. Default 60 s. */
  markerTtlMs?: number;
  /**
   * With replicas: true on the one that holds the leader Lease. The others only
   * mark starts whose creator is gone (any replica can tell, and the first one
   * polled should not wait for the leader), and leave every other chore to the
   * leader. Default: always.
   */
  leading?: () => boolean;
  /** Told when a chore was done (metrics). */
  onChore?: (kind: Chore['kind']) => void;
  now?: () => number;
}

export class LifecycleSweeper {
  readonly #o: Required<Omit<SweeperOptions, 'admission' | 'onChore'>> & Pick<SweeperOptions, 'admission' | 'onChore'>;
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #busy = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  #ticker: NodeJS.Timeout | undefined;

  constructor(opts: SweeperOptions) {
    this.#o = { settleMs: 500, tickMs: 2000, markerTtlMs: 60_000, now: Date.now, leading: () => true, ...opts };
  }

  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#o.cache.subscribe((name) => this.#schedule(name));
    this.#ticker = setInterval(() => this.#tick(), this.#o.tickMs);
    this.#ticker.unref();
    for (const { anchor } of this.#o.cache.all()) this.#schedule(anchor.metadata.name);
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#ticker) clearInterval(this.#ticker);
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }

  #policy(): ChorePolicy {
    const s = this.#o.config().services;
    return { failedCleanupSeconds: s.failed_cleanup_seconds, failedRetentionSeconds: s.failed_retention_seconds };
  }

  /** Coalesces bursts of changes of one start into one evaluation, after the settle time. */
  #schedule(anchorName: string): void {
    if (this.#pending.has(anchorName)) return;
    const timer = setTimeout(() => {
      this.#pending.delete(anchorName);
      void this.#evaluate(anchorName);
    }, this.#o.settleMs);
    timer.unref();
    this.#pending.set(anchorName, timer);
  }

  /** Deadlines pass without any watch event: look at the clock-driven chores of every start. */
  #tick(): void {
    const now = this.#o.now();
    const policy = this.#policy();
    for (const service of this.#o.cache.all()) {
      // Live failures come through the watch; here only what the clock (and the presence records) decide.
      if (nextChore(lifecycleOf(service.anchor), 'starting', now, policy, this.#o.presence.state)) void this.#evaluate(service.anchor.metadata.name);
    }
    if (!this.#o.leading()) return;
    for (const marker of this.#o.cache.stopMarkers()) {
      const created = Date.parse(String(marker.metadata.creationTimestamp ?? '')) || 0;
      if (now - created > this.#o.markerTtlMs) {
        void this.#o.gateway.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: marker.metadata.name, namespace: marker.metadata.namespace, uid: marker.metadata.uid ?? '' } })
          .catch((err: unknown) => this.#o.logger.debug({ err: (err as Error).message }, 'could not remove an expired stop marker'));
      }
    }
  }

  async #evaluate(anchorName: string): Promise<void> {
    if (this.#busy.has(anchorName)) return;
    const service = this.#o.cache.byAnchor(anchorName);
    if (!service) return;
    const now = this.#o.now();
    const lc = lifecycleOf(service.anchor);
    const live: ServiceState = lc.phase === 'created' && !lc.failure ? this.#o.manager.liveVerdict(service.record, service.anchor).state : 'starting';
    const chore = nextChore(lc, live, now, this.#policy(), this.#o.presence.state);
    if (!chore) return;
    if (chore.kind !== 'mark-interrupted' && !this.#o.leading()) return;
    this.#busy.add(anchorName);
    const log = this.#o.logger.child({ uuidcode: service.record.servername, start_id: service.record.start_id, credential: service.record.jhub_credential });
    try {
      // No record in the cache is a claim; the apiserver's answer is the proof (the cache may lag).
      if (chore.kind === 'mark-interrupted' && chore.confirm && !(await this.#o.presence.confirmAbsent(chore.confirm))) return;
      await this.#act(chore, service, now, log);
      this.#o.onChore?.(chore.kind);
    } catch (err) {
      log.warning({ chore: chore.kind, err: (err as Error).message }, 'lifecycle chore failed; it is tried again');
    } finally {
      this.#busy.delete(anchorName);
    }
  }

  async #act(chore: Chore, service: CachedService, now: number, log: AppLogger): Promise<void> {
    const { record, anchor } = service;
    const stamp = new Date(now).toISOString();
    switch (chore.kind) {
      case 'mark-interrupted': {
        const result = await this.#o.gateway.annotate(anchor, { [ANNOTATIONS.interrupted]: chore.reason }, casOf(anchor));
        if (typeof result !== 'string') log.info({ reason: chore.reason, created_by: lifecycleOf(anchor).createdBy }, 'start interrupted: marked failed');
        return;
      }
      case 'record-failure': {
        const judged = judgeLifecycle(lifecycleOf(anchor), now);
        const failure = judged && !judged.running ? judged.details : (await this.#o.manager.verdictWithLogs(record, anchor)).details;
        if (!judged && this.#o.manager.liveVerdict(record, anchor).state !== 'failed') return; // recovered while we read the log
        const result = await this.#o.gateway.annotate(anchor, { [ANNOTATIONS.failedAt]: stamp, [ANNOTATIONS.failure]: JSON.stringify(failure) }, casOf(anchor));
        if (typeof result !== 'string') log.info({ error: failure.error }, 'failure recorded: every later answer of this start is this failure');
        return;
      }
      case 'clean-up': {
        const env = await releaseEnv(this.#o.admission, this.#o.gateway, anchor.metadata.namespace ?? '', record);
        await this.#o.manager.removeWorkload(record);
        await this.#o.gateway.annotate(anchor, { [ANNOTATIONS.cleanedUp]: stamp }, casOf(anchor));
        await this.#release(service, env);
        log.info('workload of the ended start removed; its anchor keeps answering the failure');
        return;
      }
      case 'remove': {
        await this.#o.gateway.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: anchor.metadata.name, namespace: anchor.metadata.namespace, uid: anchor.metadata.uid ?? '' } });
        await this.#release(service);
        log.info('anchor of the failed start removed after its retention');
        return;
      }
    }
  }

  async #release(service: CachedService, env?: Record<string, string>): Promise<void> {
    const { record } = service;
    await this.#o.admission?.release({ credential: record.jhub_credential, servername: record.servername, startId: record.start_id, ...(env ? { env } : {}) }).catch(() => undefined);
  }
}

function casOf(anchor: KubeObject): { resourceVersion?: string } {
  return anchor.metadata.resourceVersion ? { resourceVersion: anchor.metadata.resourceVersion } : {};
}
