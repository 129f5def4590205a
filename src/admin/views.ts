// What the admin page shows of a service, built from what the watch caches
// hold (pure: objects in, plain JSON out, no I/O). Nothing secret goes into a
// view: records carry no env, pods and events are the caches' projections.
import type { KubeObject } from '../kube/gateway.js';
import { eventTime, mainPod, type EventView, type PodView } from '../status/interpret.js';
import type { ServiceRecord, ServiceState } from '../services/types.js';

/** The anchor annotation where the progress events sent to the hub are recorded. */
export const PROGRESS_LOG_ANNOTATION = 'k8smgr.io/progress-log';

export interface ServiceRow {
  /** The anchor's name: unique per namespace, the row's key. */
  id: string;
  credential: string;
  servername: string;
  userId: number;
  /** user_options.service, e.g. `jupyterlab/default`. */
  service: string;
  startId: string;
  /** ISO time of the start. */
  started: string;
  node: string;
  state: ServiceState;
  /** The short error the hub sees (empty unless starting with a reason or failed). */
  error: string;
  /** Which API started it: the seed's (BackendSpawner) or the JupyterHub Outpost API (OutpostSpawner). */
  api: 'seed' | 'outpost';
  /** Outpost API: the hub's server name and user (the servername above is the manager's form of it). */
  hubServer?: string;
  hubUser?: string;
}

export interface VerdictView {
  state: ServiceState;
  details: { error: string; detailed_error: string };
}

export function serviceRow(record: ServiceRecord, anchor: KubeObject, pods: readonly PodView[], verdict: VerdictView, mainContainer: string): ServiceRow {
  const pod = mainPod(pods, mainContainer) ?? pods[0];
  return {
    id: anchor.metadata.name,
    credential: record.jhub_credential,
    servername: record.servername,
    userId: record.jhub_user_id,
    service: typeof record.user_options?.service === 'string' ? record.user_options.service : '',
    startId: record.start_id,
    started: record.start_date || isoOf(anchor.metadata.creationTimestamp),
    node: pod?.spec?.nodeName ?? '',
    state: verdict.state,
    error: verdict.details.error,
    api: record.outpost ? 'outpost' : 'seed',
    ...(record.outpost ? { hubServer: record.outpost.name, hubUser: record.outpost.user } : {}),
  };
}

export interface ObjectRefView {
  apiVersion: string;
  kind: string;
  name: string;
}

/** `apiVersion|Kind/name` entries of a record (malformed ones are shown as they are). */
export function objectViews(record: ServiceRecord): ObjectRefView[] {
  return (record.objects ?? []).map((ref) => {
    const match = /^(.+)\|(.+?)\/(.+)$/.exec(ref);
    return match ? { apiVersion: match[1]!, kind: match[2]!, name: match[3]! } : { apiVersion: '', kind: '', name: ref };
  });
}

export interface PodSummary {
  name: string;
  phase: string;
  node: string;
  created: string;
  containers: Array<{ name: string; image: string; ready: boolean; restarts: number; state: string }>;
}

export function podSummary(pod: PodView): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  return {
    name: pod.metadata.name,
    phase: pod.metadata.deletionTimestamp ? 'Terminating' : (pod.status?.phase ?? 'Pending'),
    node: pod.spec?.nodeName ?? '',
    created: isoOf(pod.metadata.creationTimestamp),
    containers: (pod.spec?.containers ?? []).map((c) => {
      const s = statuses.find((x) => x.name === c.name);
      return { name: c.name, image: c.image ?? '', ready: s?.ready === true, restarts: s?.restartCount ?? 0, state: containerState(s?.state) };
    }),
  };
}

function containerState(state: NonNullable<NonNullable<PodView['status']>['containerStatuses']>[number]['state']): string {
  if (state?.running) return 'running';
  if (state?.terminated) return `terminated (${state.terminated.reason ?? 'exit'} ${state.terminated.exitCode ?? ''})`.replace(' )', ')');
  if (state?.waiting) return `waiting${state.waiting.reason ? ` (${state.waiting.reason})` : ''}`;
  return 'unknown';
}

export interface EventRow {
  pod: string;
  time: string;
  type: string;
  reason: string;
  message: string;
  count: number;
}

/** Events of the service's pods, oldest first. */
export function eventRows(byPod: ReadonlyArray<{ pod: string; events: readonly EventView[] }>): EventRow[] {
  return byPod
    .flatMap(({ pod, events }) => events.map((e) => ({ pod, at: eventTime(e), e })))
    .sort((a, b) => a.at - b.at)
    .map(({ pod, at, e }) => ({
      pod,
      time: at ? new Date(at).toISOString() : '',
      type: e.type ?? '',
      reason: e.reason ?? '',
      message: e.message ?? '',
      count: e.count ?? 1,
    }));
}

export interface ProgressEntry {
  progress: number | null;
  summary: string;
  at: string;
}

/** The progress events recorded on the anchor, or undefined when there are none (or they cannot be read). */
export function progressLog(anchor: KubeObject): ProgressEntry[] | undefined {
  const text = anchor.metadata.annotations?.[PROGRESS_LOG_ANNOTATION];
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  return parsed.flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const e = item as Record<string, unknown>;
    return [{
      progress: typeof e.progress === 'number' ? e.progress : null,
      summary: typeof e.summary === 'string' ? e.summary : typeof e.message === 'string' ? e.message : '',
      at: typeof e.at === 'string' ? e.at : typeof e.at === 'number' ? new Date(e.at).toISOString() : '',
    }];
  });
}

/** The poll answer's detail is HTML-escaped for the hub's page; the admin page shows it as text. */
export { unescapeHtml } from '../status/interpret.js';

function isoOf(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : '';
}
