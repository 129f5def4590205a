// Pure status interpretation: (record, pods, events) -> the poll answer. No I/O:
// the caller passes what the watch caches hold, and the log tail when it has
// one, so every case here is unit-tested with literal objects.
import type { PollAnswer } from './answer.js';

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: unknown };
  terminated?: { exitCode?: number; reason?: string; message?: string };
}

export interface PodView {
  metadata: { name: string; creationTimestamp?: unknown; deletionTimestamp?: unknown };
  spec?: { nodeName?: string; containers?: Array<{ name: string; image?: string }> };
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ name: string; ready?: boolean; restartCount?: number; state?: ContainerState; lastState?: ContainerState }>;
  };
}

export interface EventView {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: unknown;
  eventTime?: unknown;
  firstTimestamp?: unknown;
  metadata: { name: string; creationTimestamp?: unknown };
}

export interface StatusPolicy {
  mainContainer: string;
  failingEventTypes: readonly string[];
  eventsShown: number;
}

export interface StatusInput {
  stopPending: boolean;
  pods: readonly PodView[];
  /** Events of the main pod, any order. */
  events: readonly EventView[];
  /** Log tail of the main container, once read (only after a failure is seen). */
  logTail?: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** The inverse of escapeHtml (for readers that show the detail as text, or escape it again at their edge). */
export function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_m, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name] ?? '');
}

function time(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') return Date.parse(value) || 0;
  return 0;
}

export function eventTime(e: EventView): number {
  return time(e.lastTimestamp) || time(e.eventTime) || time(e.firstTimestamp) || time(e.metadata.creationTimestamp);
}

/** The newest pod of the service that runs the main container (not one being deleted). */
export function mainPod(pods: readonly PodView[], mainContainer: string): PodView | undefined {
  const candidates = pods.filter(
    (p) => !p.metadata.deletionTimestamp && (p.spec?.containers ?? []).some((c) => c.name === mainContainer),
  );
  return candidates.sort((a, b) => time(b.metadata.creationTimestamp) - time(a.metadata.creationTimestamp))[0];
}

function lastEvents(events: readonly EventView[], n: number): EventView[] {
  return [...events].sort((a, b) => eventTime(a) - eventTime(b)).slice(-n);
}

function describeEvents(events: readonly EventView[]): string {
  return events
    .map((e) => {
      const when = eventTime(e) ? new Date(eventTime(e)).toISOString() : '';
      return `${when} ${e.type ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`.trim();
    })
    .join('\n');
}

/** The user-facing detail: last events and log tail, HTML-escaped for the hub's page. */
export function failureDetail(events: readonly EventView[], logTail: string | undefined): string {
  const parts: string[] = [];
  if (events.length) parts.push(`Events:\n${describeEvents(events)}`);
  if (logTail && logTail.trim()) parts.push(`Logs:\n${logTail.replace(/\n+$/, '')}`);
  return escapeHtml(parts.join('\n\n'));
}

export type Verdict = PollAnswer & {
  /** Set when the answer is a failure whose detail would gain from the log tail. */
  needsLogTail?: { pod: string; container: string };
};

/** Shown in place of the log of a container that has not started (pending, unschedulable, image not pulled). */
export const NOT_STARTED = '(none: the container has not started)';

type ContainerStatusView = NonNullable<NonNullable<PodView['status']>['containerStatuses']>[number];

/** True when the container has run at some point, so that it may have written a log. */
export function hasRun(status: ContainerStatusView | undefined): boolean {
  if (!status) return false;
  return Boolean(status.state?.running || status.state?.terminated || status.lastState?.terminated || (status.restartCount ?? 0) > 0);
}

const starting = (error = ''): Verdict => ({ running: true, state: 'starting', details: { error, detailed_error: '' } });

export function interpret(input: StatusInput, policy: StatusPolicy): Verdict {
  if (input.stopPending) {
    return { running: false, state: 'stopping', details: { error: 'Service is stopping', detailed_error: '' } };
  }
  const pod = mainPod(input.pods, policy.mainContainer);
  if (!pod) return starting();
  const shown = lastEvents(input.events, policy.eventsShown);
  const main = pod.status?.containerStatuses?.find((c) => c.name === policy.mainContainer);
  // A container that never ran has no log; the user is told so, not what the log API answers.
  const ran = hasRun(main);
  const failed = (error: string): Verdict => ({
    running: false,
    state: 'failed',
    details: { error, detailed_error: failureDetail(shown, ran ? input.logTail : NOT_STARTED) },
    ...(ran && input.logTail === undefined ? { needsLogTail: { pod: pod.metadata.name, container: policy.mainContainer } } : {}),
  });

  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Failed' || phase === 'Succeeded' || phase === 'Unknown') return failed(`Service status is ${phase}`);

  if (main?.state?.terminated) return failed('Service status is in state terminated');
  // A container that crashed and is waiting to restart has its cause in lastState.
  if (main?.state?.waiting && main.lastState?.terminated) return failed('Service status is in state terminated');

  const failing = shown.some((e) => policy.failingEventTypes.includes(e.type ?? ''));
  if (phase === 'Pending' || !main?.state?.running) {
    if (failing) return failed('Service cannot start');
    return starting(main?.state?.waiting?.reason ? `Service is starting (${main.state.waiting.reason})` : '');
  }
  if (failing && !main.ready) return failed('Service cannot start');
  return { running: true, state: main.ready ? 'running' : 'starting', details: { error: '', detailed_error: '' } };
}

/**
 * The exit code of the main container's last run (what an Outpost answers as a
 * poll's `status`), or undefined when it has not exited.
 */
export function exitCode(pods: readonly PodView[], mainContainer: string): number | undefined {
  const pod = mainPod(pods, mainContainer);
  const main = pod?.status?.containerStatuses?.find((c) => c.name === mainContainer);
  return main?.state?.terminated?.exitCode ?? main?.lastState?.terminated?.exitCode;
}
