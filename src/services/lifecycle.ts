// The lifecycle of one start, kept on its anchor's annotations so that every
// replica reads the same facts and a restart loses none: whether the objects
// are all created, who created them and by when they must be, a failure once it
// was reported (frozen, with the detail the user saw), the clean-up of a failed
// start's workload, and a stop deadline (runtime limits). The anchor is one
// object per start (a new start gets a new uid), so every fact here belongs to
// exactly one start, never to a servername. Pure: parsing and judging, no I/O.
import type { KubeObject } from '../kube/gateway.js';
import { processId, type ProcessIdentity } from '../kube/identity.js';
import type { PresenceState } from '../kube/presence.js';
import type { PollAnswer, PollDetails } from './types.js';

export const ANNOTATIONS = {
  /** `creating` until every object of the start exists, then `created`. */
  phase: 'k8smgr.io/phase',
  /**
   * The process that creates the objects: its process id `<replica>_<boot>` (kube/identity.ts).
   * Starts of older versions have `<replica>/<boot>`, which no presence record answers for.
   */
  createdBy: 'k8smgr.io/created-by',
  /** ISO time by which the creator finishes or rolls back; past it a `creating` start was interrupted. */
  creatingUntil: 'k8smgr.io/creating-until',
  /** Set when a start is known to have been interrupted (its creator is gone): the plain reason. */
  interrupted: 'k8smgr.io/interrupted',
  /** ISO time the failure was first recorded; from then on every answer is that failure. */
  failedAt: 'k8smgr.io/failed-at',
  /** JSON {error, detailed_error}: the failure as the user saw it. */
  failure: 'k8smgr.io/failure',
  /** ISO time the workload of a failed or ended start was removed (the anchor stays to answer). */
  cleanedUp: 'k8smgr.io/cleaned-up',
  /** ISO time at which the service is stopped (runtime limit) ... */
  stopAt: 'k8smgr.io/stop-at',
  /** ... and the reason shown from then on ("Runtime limit of 2 hours reached"). */
  stopReason: 'k8smgr.io/stop-reason',
  /** Last progress step sent to the hub, claimed by one replica (see services/progress.ts). */
  progress: 'k8smgr.io/progress',
  /** JSON array of the progress events sent: [{progress, summary, at}]. */
  progressLog: 'k8smgr.io/progress-log',
  /** On a stop marker: ISO time of the DELETE that found no start (see stopMarker). */
  stopRequested: 'k8smgr.io/stop-requested',
  /**
   * ISO time by which a start that answers only when its service is ready (a
   * synchronous Outpost start) must have answered; removed when it answered.
   * Past it, or when its creator restarted, nobody will tell the hub: interrupted.
   */
  answerBy: 'k8smgr.io/answer-by',
} as const;

export const INTERRUPTED_MESSAGE = 'Start interrupted, please start again';
const UNANSWERED = 'the start was not answered in time (the replica that took it stopped)';

export interface Lifecycle {
  phase: 'creating' | 'created' | undefined;
  createdBy: string | undefined;
  creatingUntil: number | undefined;
  interrupted: string | undefined;
  failedAt: number | undefined;
  failure: PollDetails | undefined;
  cleanedUp: number | undefined;
  stopAt: number | undefined;
  stopReason: string | undefined;
  progress: string | undefined;
  answerBy: number | undefined;
  deleting: boolean;
}

function time(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}

function details(value: string | undefined): PollDetails | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<PollDetails>;
    return { error: String(parsed.error ?? ''), detailed_error: String(parsed.detailed_error ?? '') };
  } catch {
    return undefined;
  }
}

export function lifecycleOf(anchor: Pick<KubeObject, 'metadata'>): Lifecycle {
  const a = anchor.metadata.annotations ?? {};
  const phase = a[ANNOTATIONS.phase];
  return {
    phase: phase === 'creating' || phase === 'created' ? phase : undefined,
    createdBy: a[ANNOTATIONS.createdBy],
    creatingUntil: time(a[ANNOTATIONS.creatingUntil]),
    interrupted: a[ANNOTATIONS.interrupted] || undefined,
    failedAt: time(a[ANNOTATIONS.failedAt]),
    failure: details(a[ANNOTATIONS.failure]),
    cleanedUp: time(a[ANNOTATIONS.cleanedUp]),
    stopAt: time(a[ANNOTATIONS.stopAt]),
    stopReason: a[ANNOTATIONS.stopReason] || undefined,
    progress: a[ANNOTATIONS.progress] || undefined,
    answerBy: time(a[ANNOTATIONS.answerBy]),
    deleting: Boolean(anchor.metadata.deletionTimestamp),
  };
}

const answer = (state: PollAnswer['state'], error: string, detailed = ''): PollAnswer => ({
  running: state === 'starting' || state === 'running',
  state,
  details: { error, detailed_error: detailed },
});

/**
 * What the anchor alone decides, before the pods are looked at; undefined when
 * the pods decide. Same input, same answer, on every replica.
 */
export function judgeLifecycle(lc: Lifecycle, now: number): PollAnswer | undefined {
  if (lc.deleting) return answer('stopping', 'Service is stopping');
  // A recorded failure is final: the hub has been told (or will be) and treats the server as stopped.
  if (lc.failure) return { running: false, state: 'failed', details: lc.failure };
  if (lc.stopAt !== undefined && now >= lc.stopAt) return answer('failed', lc.stopReason ?? 'Service reached its stop time');
  if (lc.interrupted) return answer('failed', INTERRUPTED_MESSAGE, lc.interrupted);
  if (lc.answerBy !== undefined && now > lc.answerBy) return answer('failed', INTERRUPTED_MESSAGE, UNANSWERED);
  if (lc.phase === 'creating') {
    if (lc.creatingUntil !== undefined && now > lc.creatingUntil) {
      return answer('failed', INTERRUPTED_MESSAGE, 'the start did not finish creating its objects in time (the replica that took it stopped)');
    }
    return answer('starting', '');
  }
  return undefined;
}

/** The `createdBy` annotation of a start taken by `identity`. */
export function createdByValue(identity: ProcessIdentity): string {
  return processId(identity);
}

/**
 * What the presence records say of a process, by its process id (kube/presence.ts
 * answers from its watch cache, by this process's clock).
 */
export type Presence = (processId: string) => PresenceState;

/**
 * Whether the process that is creating this start's objects is gone, so the start
 * will never finish: `gone` when its presence record expired; `absent` when there
 * is none in the cache (gone once a read confirms it: a process is present before
 * it takes a start); undefined while it lives, when nothing is known of it (an
 * anchor of an older version, a cache not listed yet: the creation deadline
 * decides), or when the start is not being created. The creator's name decides
 * nothing: another live process may have the same.
 */
export function creatorLoss(lc: Lifecycle, presence: Presence): 'gone' | 'absent' | undefined {
  // Still creating, or created but not yet answered (only its creator could answer).
  if ((lc.phase !== 'creating' && lc.answerBy === undefined) || !lc.createdBy || lc.interrupted || lc.failure) return undefined;
  const state = presence(lc.createdBy);
  if (state === 'expired') return 'gone';
  if (state === 'absent') return 'absent';
  return undefined;
}

export type Chore =
  /** Record the failure the caches show (first time), so every later answer is the same. */
  | { kind: 'record-failure' }
  /**
   * Mark a start interrupted: its creator is gone. With `confirm`, only once a read
   * confirms that this process id has no presence record.
   */
  | { kind: 'mark-interrupted'; reason: string; confirm?: string }
  /** Remove the workload of a failed or ended start, keep the anchor. */
  | { kind: 'clean-up' }
  /** Remove the anchor itself (retention over). */
  | { kind: 'remove' };

export interface ChorePolicy {
  /** -1 never, 0 at once. */
  failedCleanupSeconds: number;
  failedRetentionSeconds: number;
}

/**
 * The one next thing to do for a start, from its lifecycle, the live verdict
 * of the caches, and the time: a pure decision that any replica may act on
 * (the writes are conditional, so two replicas acting at once do it once).
 */
export function nextChore(lc: Lifecycle, live: PollAnswer['state'], now: number, policy: ChorePolicy, presence: Presence): Chore | undefined {
  if (lc.deleting) return undefined;
  // Past its creation deadline a start is interrupted by the clock alone (below): no need to ask who is gone.
  const pastDeadline = lc.phase === 'creating' && lc.creatingUntil !== undefined && now > lc.creatingUntil;
  const loss = pastDeadline ? undefined : creatorLoss(lc, presence);
  if (loss === 'gone') return { kind: 'mark-interrupted', reason: 'the manager process that took this start is gone (its presence record expired) before it finished the start' };
  if (loss === 'absent') return { kind: 'mark-interrupted', reason: 'the manager process that took this start stopped before it finished the start', confirm: lc.createdBy as string };
  const ended = lc.failure !== undefined || (lc.stopAt !== undefined && now >= lc.stopAt) || lc.interrupted !== undefined
    || (lc.phase === 'creating' && lc.creatingUntil !== undefined && now > lc.creatingUntil) || unanswered(lc, now);
  if (!ended) return live === 'failed' && lc.phase !== 'creating' ? { kind: 'record-failure' } : undefined;
  if (lc.failure === undefined) return { kind: 'record-failure' };
  const since = lc.failedAt ?? now;
  if (lc.cleanedUp === undefined) {
    // A start that ended by its stop time or was interrupted has nothing worth keeping: at once.
    if (endedOnPurpose(lc, now)) return { kind: 'clean-up' };
    if (policy.failedCleanupSeconds < 0) return undefined;
    return now - since >= policy.failedCleanupSeconds * 1000 ? { kind: 'clean-up' } : undefined;
  }
  // A start the hub never heard of (it ended before its answer) has nobody to answer: its anchor goes too.
  if (lc.answerBy !== undefined || (policy.failedRetentionSeconds >= 0 && now - since >= policy.failedRetentionSeconds * 1000)) return { kind: 'remove' };
  return undefined;
}

function endedOnPurpose(lc: Lifecycle, now: number): boolean {
  return lc.interrupted !== undefined || (lc.stopAt !== undefined && now >= lc.stopAt) || (lc.phase === 'creating' && lc.creatingUntil !== undefined && now > lc.creatingUntil) || unanswered(lc, now);
}

function unanswered(lc: Lifecycle, now: number): boolean {
  return lc.answerBy !== undefined && now > lc.answerBy;
}

/** When nextChore may change its mind by the clock alone (ms from now), for the sweeper's timer. */
export function nextDeadline(lc: Lifecycle, now: number, policy: ChorePolicy): number | undefined {
  const candidates: number[] = [];
  if (lc.phase === 'creating' && lc.creatingUntil !== undefined && !lc.failure) candidates.push(lc.creatingUntil + 1);
  if (lc.stopAt !== undefined && !lc.failure) candidates.push(lc.stopAt);
  if (lc.answerBy !== undefined && !lc.failure) candidates.push(lc.answerBy + 1);
  if (lc.failedAt !== undefined && lc.cleanedUp === undefined && policy.failedCleanupSeconds >= 0) candidates.push(lc.failedAt + policy.failedCleanupSeconds * 1000);
  if (lc.failedAt !== undefined && policy.failedRetentionSeconds >= 0) candidates.push(lc.failedAt + policy.failedRetentionSeconds * 1000);
  const future = candidates.filter((t) => t > now);
  return future.length ? Math.min(...future) - now : undefined;
}
