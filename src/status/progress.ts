// Pure progress interpretation: (objects, pods, events, verdict) -> the step a
// starting service has reached, and the EventBackendSpawner event that tells the
// hub about it. No I/O: services/progress.ts feeds it what the watch caches hold
// and decides when to send.
import { escapeHtml, eventTime, mainPod, type EventView, type PodView, type Verdict } from './interpret.js';

/** The steps of a start, in order; a step is reported once, and never after a later one. */
export const STEPS = ['created', 'scheduled', 'pulling', 'started', 'ready', 'failed'] as const;
export type StepName = (typeof STEPS)[number];

/** Progress (0-100) the hub's bar shows per step. The hub itself sends 10 (request sent) and 30 (answer received). */
export const STEP_PROGRESS: Readonly<Record<StepName, number>> = {
  created: 40,
  scheduled: 50,
  pulling: 60,
  started: 80,
  ready: 90,
  failed: 100,
};

export interface ProgressStep {
  step: StepName;
  /** Higher is later; the reporter only sends a step whose rank is above the last one sent. */
  rank: number;
  progress: number;
  /** Plain text: escaped when the event is built. */
  summary: string;
  /** Plain text lines shown inside the details. */
  detail: string;
  /** HTML already escaped (the failure detail from interpret()), shown after `detail`. */
  detailHtml?: string;
  /** ready or failed: nothing is reported after it. */
  final: boolean;
}

export interface ProgressInput {
  /** `apiVersion|Kind/name` of the objects the start created (the record's `objects`). */
  objects: readonly string[];
  /** The pods of this start (of this start_id only). */
  pods: readonly PodView[];
  /** Events of the main pod, any order. */
  events: readonly EventView[];
  /** interpret() over the same pods and events (with the log tail once a failure needs it). */
  verdict: Verdict;
  mainContainer: string;
}

/** The EventBackendSpawner progress event (POSTed to JUPYTERHUB_STATUS_URL). */
export interface HubProgressEvent {
  progress: number;
  html_message: string;
  failed?: true;
}

function make(step: StepName, summary: string, detail: string, detailHtml?: string): ProgressStep {
  return {
    step,
    rank: STEPS.indexOf(step),
    progress: STEP_PROGRESS[step],
    summary,
    detail,
    ...(detailHtml !== undefined ? { detailHtml } : {}),
    final: step === 'ready' || step === 'failed',
  };
}

function describeObject(ref: string): string {
  const at = ref.indexOf('|');
  return at >= 0 ? ref.slice(at + 1) : ref;
}

function newest(events: readonly EventView[], reasons: readonly string[]): EventView | undefined {
  return [...events].filter((e) => reasons.includes(e.reason ?? '')).sort((a, b) => eventTime(a) - eventTime(b)).at(-1);
}

function eventLine(e: EventView | undefined): string {
  return e ? `${e.reason ?? ''}: ${e.message ?? ''}`.trim() : '';
}

/** The step a start has reached. A failure (verdict `failed`) wins over everything else. */
export function progressStep(input: ProgressInput): ProgressStep {
  const { verdict } = input;
  if (verdict.state === 'failed') {
    return make('failed', verdict.details.error || 'Service failed to start', '', verdict.details.detailed_error);
  }
  const pod = mainPod(input.pods, input.mainContainer);
  if (pod && verdict.state === 'running') {
    return make('ready', 'Service is ready', `Pod ${pod.metadata.name}: container ${input.mainContainer} is running and ready.`);
  }
  const main = pod?.status?.containerStatuses?.find((c) => c.name === input.mainContainer);
  if (pod && main?.state?.running) {
    return make('started', 'Container started', `Pod ${pod.metadata.name}: container ${input.mainContainer} is running, waiting until it is ready.`);
  }
  const pulling = newest(input.events, ['Pulling', 'Pulled']);
  if (pod && pulling) {
    const image = pod.spec?.containers?.find((c) => c.name === input.mainContainer)?.image;
    return make('pulling', pulling.reason === 'Pulled' ? 'Image pulled' : 'Pulling image', [image ? `Image ${image}` : '', eventLine(pulling)].filter(Boolean).join('\n'));
  }
  const scheduledCondition = pod?.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True');
  if (pod && (pod.spec?.nodeName || scheduledCondition)) {
    const node = pod.spec?.nodeName;
    return make('scheduled', 'Pod scheduled', `Pod ${pod.metadata.name}${node ? ` scheduled on node ${node}` : ' scheduled'}.`);
  }
  const objects = input.objects.map(describeObject);
  return make('created', 'Kubernetes objects created', objects.length ? `Created ${objects.join(', ')}.` : 'Created.');
}

/** The hub's event for a step: `<details><summary>…</summary>…</details>`, HTML-escaped. */
export function hubEvent(step: ProgressStep): HubProgressEvent {
  const parts: string[] = [];
  if (step.detail) parts.push(escapeHtml(step.detail).replace(/\n/g, '<br>'));
  if (step.detailHtml) parts.push(`<pre>${step.detailHtml}</pre>`);
  const html = `<details><summary>${escapeHtml(step.summary)}</summary>${parts.join('')}</details>`;
  return step.step === 'failed'
    ? { failed: true, progress: 100, html_message: html }
    : { progress: step.progress, html_message: html };
}

/** True when `next` is worth an event after `last` (undefined: nothing sent yet). */
export function isNewStep(last: ProgressStep | undefined, next: ProgressStep): boolean {
  if (!last) return true;
  if (last.final) return false;
  return next.rank > last.rank;
}
