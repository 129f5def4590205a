// Leader election through a coordination.k8s.io/v1 Lease, with the semantics
// of client-go's leaderelection package: a candidate takes the Lease when it is
// free (no holder) or expired (its record has not changed for leaseDuration by
// the candidate's own clock, so clocks need not agree), renews it every retry
// period, and stops leading when it could not renew within the renew deadline.
// A graceful stop releases the Lease (holder emptied, duration 1 s) so that
// another replica takes it at its next try instead of after the duration.
//
// The holder identity is the process's (`<replica>_<boot>`, kube/identity.ts),
// never the replica's name alone: a process that finds a Lease held under its
// name by another process (one host, a reused pod name) waits for it like any
// candidate. Leading is a claim with a clock on it: it holds for the renew
// deadline after the start of the last successful round, and `isLeader()`
// checks that clock at every question, so a process that was frozen (SIGSTOP,
// a stalled VM) learns that it lost before it does any leader work.
//
// `decide` is the pure part (a Lease read, the time, what was observed before ->
// what to write); `LeaderElector` does the I/O through the gateway's read,
// create and replace (resourceVersion compare-and-swap).
import type { KubeGateway, KubeObject } from './gateway.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime: RFC 3339 with microseconds. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's recommended values (kube-controller-manager's defaults). */
export const DEFAULT_TIMINGS: LeaseTimings = Object.freeze({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });

/** What this candidate last saw of the Lease and when (its own clock): the basis of "expired". */
export interface Observation {
  /** The spec as read, serialized (a change of any field is a sign of life). */
  record: string;
  /** When that record was first seen (ms, this process's clock). */
  at: number;
}

export type Decision =
  /** No Lease yet: create it as holder. */
  | { action: 'create'; lease: Lease; observed: Observation }
  /** Take or renew: replace with the resourceVersion read. */
  | { action: 'replace'; lease: Lease; observed: Observation }
  /** Someone else holds a valid Lease. */
  | { action: 'wait'; holder: string; observed: Observation };

/** Kubernetes MicroTime: `2006-01-02T15:04:05.000000Z`. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function recordOf(spec: LeaseSpec | undefined): string {
  const s = spec ?? {};
  return JSON.stringify([s.holderIdentity ?? '', s.leaseDurationSeconds ?? 0, s.acquireTime ?? '', s.renewTime ?? '', s.leaseTransitions ?? 0]);
}

/** The observation after reading `lease` at `now`: kept when the record did not change. */
export function observe(lease: Lease | undefined, previous: Observation | undefined, now: number): Observation {
  const record = recordOf(lease?.spec);
  return previous && previous.record === record ? previous : { record, at: now };
}

/** True while the record seen at `observed.at` is within its duration (by our clock). */
export function leaseValid(lease: Lease | undefined, observed: Observation, now: number): boolean {
  const seconds = lease?.spec?.leaseDurationSeconds ?? 0;
  return observed.at + seconds * 1000 > now;
}

/**
 * One round of client-go's tryAcquireOrRenew, decided: given the Lease as read
 * (undefined: none), who we are, the time and what we observed before.
 */
export function decide(
  read: Lease | undefined,
  ref: { name: string; namespace: string },
  identity: string,
  now: number,
  previous: Observation | undefined,
  timings: LeaseTimings = DEFAULT_TIMINGS,
): Decision {
  const durationSeconds = Math.round(timings.leaseDurationMs / 1000);
  const stamp = microTime(now);
  if (!read) {
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: ref.name, namespace: ref.namespace },
      spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 },
    };
    return { action: 'create', lease, observed: { record: recordOf(lease.spec), at: now } };
  }
  const observed = observe(read, previous, now);
  const old = read.spec ?? {};
  const holder = old.holderIdentity ?? '';
  if (holder !== '' && holder !== identity && leaseValid(read, observed, now)) return { action: 'wait', holder, observed };
  const renewing = holder === identity;
  const spec: LeaseSpec = {
    holderIdentity: identity,
    leaseDurationSeconds: durationSeconds,
    acquireTime: renewing && old.acquireTime ? old.acquireTime : stamp,
    renewTime: stamp,
    leaseTransitions: renewing ? (old.leaseTransitions ?? 0) : (old.leaseTransitions ?? 0) + 1,
  };
  const lease: Lease = { ...read, metadata: { ...read.metadata }, spec };
  return { action: 'replace', lease, observed: { record: recordOf(spec), at: now } };
}

/** The Lease given up by its holder: empty holder, 1 s duration (as client-go's ReleaseOnCancel). Undefined when not ours. */
export function released(read: Lease | undefined, identity: string, now: number): Lease | undefined {
  if (!read || read.spec?.holderIdentity !== identity) return undefined;
  const stamp = microTime(now);
  return {
    ...read,
    metadata: { ...read.metadata },
    spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: stamp, renewTime: stamp, leaseTransitions: read.spec.leaseTransitions ?? 0 },
  };
}

export interface LeaderElectorOptions {
  gateway: Pick<KubeGateway, 'read' | 'create' | 'replace'>;
  namespace: string;
  name: string;
  identity: string;
  timings?: Partial<LeaseTimings>;
  now?: () => number;
  /** Tells about failed rounds (not about a Lease held by someone else). */
  onError?: (err: Error) => void;
}

type Listener = () => void;

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectorOptions, 'onError' | 'timings'>> & Pick<LeaderElectorOptions, 'onError'>;
  readonly #t: LeaseTimings;
  #observed: Observation | undefined;
  #holder: string | undefined;
  /** When another's Lease expires by our clock, as last read (a candidate tries again then). */
  #expiresAt: number | undefined;
  #leading = false;
  /** When the last successful round began: the claim to lead runs from there for the renew deadline. */
  #lastRenew = 0;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  readonly #started = new Set<Listener>();
  readonly #stopped = new Set<Listener>();

  constructor(opts: LeaderElectorOptions) {
    this.#o = { now: Date.now, ...opts };
    this.#t = { ...DEFAULT_TIMINGS, ...opts.timings };
  }

  get identity(): string {
    return this.#o.identity;
  }

  /**
   * True while this process holds the Lease and renewed it within the renew
   * deadline, by the clock now: a process that was frozen past the deadline
   * stops leading at this question (its listeners hear it), whichever of its
   * timers or answers comes first after it resumes.
   */
  isLeader(): boolean {
    this.#lapseIfStale();
    return this.#leading;
  }

  /** Who holds the Lease as last read ('' or undefined: nobody). */
  holder(): string | undefined {
    return this.isLeader() ? this.#o.identity : this.#holder || undefined;
  }

  /** Called when this replica starts leading (also at once when it already leads). Returns an unsubscribe. */
  onStartedLeading(fn: Listener): () => void {
    this.#started.add(fn);
    if (this.isLeader()) fn();
    return () => this.#started.delete(fn);
  }

  onStoppedLeading(fn: Listener): () => void {
    this.#stopped.add(fn);
    return () => this.#stopped.delete(fn);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops taking part; when leading, releases the Lease so another replica takes it at once. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#round?.catch(() => undefined);
    // A Lease still ours in the apiserver is released even when our claim lapsed (nobody took it
    // since): the release is a compare-and-swap on the Lease as read, and only of our own.
    const held = this.#leading || this.#lastRenew > 0;
    this.#setLeading(false);
    if (!held) return;
    try {
      const read = await this.#o.gateway.read<Lease>(this.#ref());
      const lease = released(read, this.#o.identity, this.#o.now());
      if (lease) await this.#o.gateway.replace(lease);
    } catch (err) {
      this.#o.onError?.(err as Error);
    }
  }

  #ref() {
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.#o.name, namespace: this.#o.namespace } };
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#round = this.#tick().finally(() => (this.#round = undefined));
    }, ms);
    this.#timer.unref();
  }

  #lapseIfStale(): void {
    // client-go: a leader that could not renew within the deadline stops leading.
    if (this.#leading && this.#o.now() - this.#lastRenew >= this.#t.renewDeadlineMs) this.#setLeading(false);
  }

  async #tick(): Promise<void> {
    // First the clock: after a freeze, "I lead" must not outlive the deadline into this round.
    this.#lapseIfStale();
    const began = this.#o.now();
    let ok = false;
    try {
      ok = await this.#withDeadline(this.tryAcquireOrRenew());
    } catch (err) {
      this.#o.onError?.(err as Error);
    }
    if (!this.#running) return;
    if (ok) {
      // The write reached the apiserver after `began`; every other candidate counts the duration
      // from a later moment (by its clock), so the claim is safe from `began`, not from now: a
      // round that was frozen in flight leaves a claim that is already spent.
      this.#lastRenew = began;
      if (this.#o.now() - began < this.#t.renewDeadlineMs) this.#setLeading(true);
    }
    this.#lapseIfStale();
    this.#schedule(this.#leading ? this.#t.retryPeriodMs : this.#candidateWait());
  }

  /**
   * A candidate tries again after client-go's jittered retry period (1 to 2.2
   * times), or when the holder's Lease expires by our clock if that is sooner:
   * a dead leader is replaced one duration after its last renewal was seen.
   */
  #candidateWait(): number {
    const jittered = this.#t.retryPeriodMs * (1 + Math.random() * 1.2);
    if (this.#expiresAt === undefined) return jittered;
    return Math.min(jittered, Math.max(0, this.#expiresAt - this.#o.now()) + 1);
  }

  /** A round may not outlast the time a leader has left to renew. */
  async #withDeadline(round: Promise<boolean>): Promise<boolean> {
    const limit = this.#leading ? Math.max(500, this.#lastRenew + this.#t.renewDeadlineMs - this.#o.now()) : this.#t.leaseDurationMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), limit);
      timer.unref();
    });
    try {
      return await Promise.race([round, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One round: read, decide, write. True when this process holds the Lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const read = await this.#o.gateway.read<Lease>(this.#ref());
    const decision = decide(read, { name: this.#o.name, namespace: this.#o.namespace }, this.#o.identity, this.#o.now(), this.#observed, this.#t);
    this.#observed = decision.observed;
    this.#expiresAt = undefined;
    if (decision.action === 'wait') {
      this.#holder = decision.holder;
      this.#expiresAt = decision.observed.at + (read?.spec?.leaseDurationSeconds ?? 0) * 1000;
      if (this.#leading) this.#setLeading(false); // someone else holds it now: we lost it
      return false;
    }
    if (decision.action === 'create') {
      const result = await this.#o.gateway.create(decision.lease);
      if (!result.created) return false;
    } else {
      const written = await this.#o.gateway.replace(decision.lease);
      if (written === 'conflict' || written === 'gone') return false;
    }
    this.#holder = this.#o.identity;
    return true;
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    if (!leading && this.#holder === this.#o.identity) this.#holder = undefined;
    for (const fn of leading ? this.#started : this.#stopped) {
      try {
        fn();
      } catch (err) {
        this.#o.onError?.(err as Error);
      }
    }
  }
}
