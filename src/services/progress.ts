// Progress events to the hub: while a service starts, POST EventBackendSpawner
// events to its JUPYTERHUB_STATUS_URL (objects created, pod scheduled, image
// pulling, container started, ready, or the failure with events and log tail).
//
// Driven by the watch caches (cache.subscribe), not by a timer; one event per
// step reached, claimed on the anchor so that it is sent once across replicas
// and restarts; fire-and-forget: a per-start queue (bounded) delivered one
// request at a time with a timeout, so neither a start nor a poll ever waits
// for the hub, and a hub that is down costs a logged warning. The token is
// never logged.
import * as http from 'node:http';
import * as https from 'node:https';
import type { Config } from '../config/schema.js';
import type { AppLogger } from '../logging/logger.js';
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { mainPod, type EventView, type PodView, type Verdict } from '../status/interpret.js';
import { hubEvent, progressStep, STEPS, type HubProgressEvent, type ProgressStep, type StepName } from '../status/progress.js';
import { ANNOTATIONS, createdByValue, judgeLifecycle, lifecycleOf, type Lifecycle } from './lifecycle.js';
import { readStartSecret } from './env-secret.js';
import { CERTS_KEYS, serviceId, startNames } from '../templates/index.js';
import type { ReplicaIdentity, ServiceObserver } from './manager.js';
import type { Certs, StartRequest } from './request.js';
import type { ServiceRecord } from './types.js';

/** Where an event goes: the resolved status URL, the hub's token, TLS material for internal_ssl hubs. */
export interface ProgressTarget {
  url: URL;
  token: string;
  tls?: { ca: string; cert: string; key: string };
  /**
   * An async start of the Outpost API: the hub's SetupTunnel URL, told the
   * service's address once it is ready (the hub has no other way to learn it).
   */
  tunnelUrl?: URL;
}

/** Sends one event; resolves to the HTTP status. Rejects on network errors and timeouts. */
export type ProgressSender = (target: ProgressTarget, event: HubProgressEvent, timeoutMs: number) => Promise<number>;

/** Tells the hub's SetupTunnel API where a ready service is: `{"service": "host:port"}`. */
export type TunnelSender = (target: ProgressTarget & { tunnelUrl: URL }, body: { service: string }, timeoutMs: number) => Promise<number>;

/** The env key of a start's progress URL: the seed API's JUPYTERHUB_STATUS_URL, the Outpost API's JUPYTERHUB_EVENTS_URL. */
export function progressUrlKey(record: Pick<ServiceRecord, 'outpost'>): string {
  return record.outpost ? 'JUPYTERHUB_EVENTS_URL' : 'JUPYTERHUB_STATUS_URL';
}

/** Resolves JUPYTERHUB_STATUS_URL: absolute as it is, else relative to JUPYTERHUB_API_URL (EventBackendSpawner sends `users/progress/status/<user>/<server>`). */
export function resolveStatusUrl(statusUrl: string, apiUrl: string | undefined): URL | undefined {
  const absolute = /^https?:\/\//i.test(statusUrl);
  let url: URL;
  try {
    if (absolute) url = new URL(statusUrl);
    else if (apiUrl && /^https?:\/\//i.test(apiUrl)) url = new URL(statusUrl.replace(/^\/+/, ''), apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
    else return undefined;
  } catch {
    return undefined;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
}

/** The default sender: node's http(s) client, so an internal_ssl hub's CA and client certificate can be used. */
export const postProgress: ProgressSender = (target, event, timeoutMs) => postJson(target, target.url, event, timeoutMs);

/** The default SetupTunnel call, as postProgress. */
export const postTunnel: TunnelSender = (target, body, timeoutMs) => postJson(target, target.tunnelUrl, body, timeoutMs);

function postJson(target: ProgressTarget, url: URL, payload: unknown, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const body = JSON.stringify(payload);
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: 'POST',
      headers: {
        authorization: `token ${target.token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
      timeout: timeoutMs,
      ...(secure && target.tls ? { ca: target.tls.ca, cert: target.tls.cert, key: target.tls.key } : {}),
    };
    const req = (secure ? https : http).request(url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}

/**
 * The hub's progress target of a start, read back from its Secrets by a
 * process that did not receive the start: the status URL and token from the
 * env Secret, and the hub's internal_ssl client certificate from the certs
 * Secret when the start had one.
 */
export async function progressTargetOf(gateway: Pick<KubeGateway, 'read'>, namespace: string, deploymentName: string, record: ServiceRecord): Promise<ProgressTarget | undefined> {
  const urlKey = progressUrlKey(record);
  const env = await readStartSecret(gateway, namespace, record, [urlKey, 'JUPYTERHUB_API_URL', 'JUPYTERHUB_API_TOKEN', TUNNEL_URL_KEY]);
  const url = resolveStatusUrl(env[urlKey] ?? '', env.JUPYTERHUB_API_URL);
  const token = env.JUPYTERHUB_API_TOKEN;
  if (!url || !token) return undefined;
  const tunnelUrl = record.outpost?.async ? resolveStatusUrl(env[TUNNEL_URL_KEY] ?? '', env.JUPYTERHUB_API_URL) : undefined;
  const certsSecret = startNames({ id: serviceId(record.servername, record.start_id), deploymentName }).certsSecret;
  const certs = await readStartSecret(gateway, namespace, record, [CERTS_KEYS.certfile, CERTS_KEYS.cafile, CERTS_KEYS.keyfile], certsSecret);
  const [certfile, cafile, keyfile] = [certs[CERTS_KEYS.certfile], certs[CERTS_KEYS.cafile], certs[CERTS_KEYS.keyfile]];
  const tls = certfile && cafile && keyfile ? tlsFrom({ certfile, cafile, keyfile }) : undefined;
  return { url, token, ...(tls ? { tls } : {}), ...(tunnelUrl ? { tunnelUrl } : {}) };
}

/** The env key of the Outpost hub's SetupTunnel URL. */
export const TUNNEL_URL_KEY = 'JUPYTERHUB_SETUPTUNNEL_URL';

function tlsFrom(certs: Certs | undefined): ProgressTarget['tls'] {
  return certs ? { ca: certs.cafile, cert: certs.certfile, key: certs.keyfile } : undefined;
}

/** What the reporter reads from the watch caches (ServiceCache fits). */
export interface ProgressCache {
  subscribe(listener: (anchorName: string) => void): () => void;
  byAnchor(anchorName: string): { record: ServiceRecord; anchor: KubeObject } | undefined;
  podsOf(anchorName: string, startId: string): PodView[];
  eventsOf(podName: string): EventView[];
  all(): Iterable<{ anchor: KubeObject }>;
}

export interface ProgressReporterOptions {
  cache: ProgressCache;
  /** Claims a step on the anchor (compare-and-swap) and reads the env Secret of a start taken over. */
  gateway: Pick<KubeGateway, 'annotate' | 'read'>;
  namespace: string;
  /** DEPLOYMENT_NAME: the certs Secret of a start taken over is named after it. */
  deploymentName: string;
  identity: ReplicaIdentity;
  /** The live verdict of a start's pods and events (ServiceManager.liveVerdict). */
  liveVerdict: (record: ServiceRecord, anchor: KubeObject) => Verdict;
  config: () => Config;
  logger: AppLogger;
  /** Default: an HTTP(S) POST with `Authorization: token <JUPYTERHUB_API_TOKEN>`. */
  send?: ProgressSender;
  /** Default: the same POST to the SetupTunnel URL. */
  announce?: TunnelSender;
  /** Per request; default 5 s. */
  timeoutMs?: number;
  /** Events waiting per service; older progress events are dropped first. Default 8. */
  queueLimit?: number;
  /** Consecutive failed deliveries after which a service's events are given up. Default 3. */
  maxFailures?: number;
  /**
   * The first event waits this long after the start's answer (201): the hub records its own
   * "backend communication successful" event when the answer reaches it, and ours should come
   * after. Counted from the answer, not the request: a start can take longer than this. Default 300 ms.
   */
  firstDelayMs?: number;
  /** Another replica's start is taken over when a step stays unclaimed this long. Default 3 s. */
  takeoverMs?: number;
  /** A start older than this gets no progress events. Default 1 h. */
  maxAgeMs?: number;
  now?: () => number;
}

/** One call to the hub: a progress event, or (async Outpost starts, once ready) the service's address. */
type Delivery = ({ event: HubProgressEvent } | { tunnel: { service: string } }) & {
  /** Hold the next delivery back this long (the hub's progress page must show this one first). */
  pauseAfterMs?: number;
};

/**
 * How long an Outpost start's failure cause stays the newest event before the failed event ends
 * the spawn: the spawner looks at its events once a second (yield_wait_seconds) and stops listing
 * them when the spawn is cancelled; OutpostSpawner itself waits twice that after its own cause.
 */
const CAUSE_SHOWN_MS = 2_000;

/** A start this process sends events for. */
interface Sending {
  uid: string;
  servername: string;
  startId: string;
  target: ProgressTarget | undefined;
  where: string;
  queue: Delivery[];
  sending: boolean;
  failures: number;
  notBefore: number;
  timer?: NodeJS.Timeout;
}

/** Progress steps sent, kept on the anchor for operators (bounded). */
const PROGRESS_LOG_MAX = 20;

/**
 * Sends each progress step of a start once, whichever replica sees it: the step
 * is claimed on the anchor by a compare-and-swap of its `k8smgr.io/progress`
 * annotation, and only the winner sends. The replica that took the start claims
 * at once; any other replica (or this one after a restart) claims a step that
 * stays unclaimed for `takeoverMs`, reading the hub's URL and token from the
 * start's env Secret. A failure is sent only once the sweeper has recorded it
 * on the anchor, so the hub sees exactly what later polls answer.
 */
export class ProgressReporter implements ServiceObserver {
  readonly #o: Required<Omit<ProgressReporterOptions, 'send' | 'announce'>> & { send: ProgressSender; announce: TunnelSender };
  /**
   * The starts this process took, by anchor uid: the hub's target (its token is never written
   * elsewhere) and when the start was answered (the hub's own event comes with the answer, ours after it).
   */
  readonly #ownStarts = new Map<string, { target: ProgressTarget | undefined; answeredAt: number }>();
  readonly #sending = new Map<string, Sending>();
  /** When this process first saw a step unclaimed, by `<uid>/<step>`. */
  readonly #firstSeen = new Map<string, number>();
  readonly #busy = new Set<string>();
  readonly #again = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(opts: ProgressReporterOptions) {
    this.#o = {
      send: postProgress,
      announce: postTunnel,
      timeoutMs: 5000,
      queueLimit: 8,
      maxFailures: 3,
      firstDelayMs: 300,
      takeoverMs: 3000,
      maxAgeMs: 60 * 60_000,
      now: Date.now,
      ...opts,
    };
  }

  start(): void {
    if (this.#unsubscribe || this.#closed) return;
    this.#unsubscribe = this.#o.cache.subscribe((name) => this.#onChange(name));
    for (const { anchor } of this.#o.cache.all()) this.#onChange(anchor.metadata.name);
  }

  /** Starts followed right now (for tests and metrics). */
  get size(): number {
    return this.#sending.size;
  }

  started(record: ServiceRecord, request: StartRequest, anchor: KubeObject): void {
    if (this.#closed) return;
    const url = resolveStatusUrl(request.statusUrl, request.env.JUPYTERHUB_API_URL);
    const tls = tlsFrom(request.certs);
    const tunnelUrl = record.outpost?.async ? resolveStatusUrl(request.env[TUNNEL_URL_KEY] ?? '', request.env.JUPYTERHUB_API_URL) : undefined;
    const target = url && request.apiToken ? { url, token: request.apiToken, ...(tls ? { tls } : {}), ...(tunnelUrl ? { tunnelUrl } : {}) } : undefined;
    if (!target) this.#o.logger.debug({ uuidcode: record.servername }, 'no usable JUPYTERHUB_STATUS_URL (or no token): no progress events for this start');
    const now = this.#o.now();
    // Starts that never reached a final step (stopped while starting) are forgotten after maxAgeMs.
    for (const [uid, own] of this.#ownStarts) {
      if (now - own.answeredAt < this.#o.maxAgeMs) break;
      this.#ownStarts.delete(uid);
    }
    this.#ownStarts.set(anchor.metadata.uid ?? '', { target, answeredAt: now });
    this.#onChange(anchor.metadata.name);
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    for (const timer of this.#timers) clearTimeout(timer);
    for (const s of this.#sending.values()) if (s.timer) clearTimeout(s.timer);
    this.#sending.clear();
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  #onChange(anchorName: string): void {
    if (this.#closed) return;
    if (this.#busy.has(anchorName)) {
      this.#again.add(anchorName);
      return;
    }
    this.#busy.add(anchorName);
    this.#evaluate(anchorName)
      .catch((err: unknown) => this.#o.logger.warning({ anchor: anchorName, err: (err as Error).message }, 'progress evaluation failed'))
      .finally(() => {
        this.#busy.delete(anchorName);
        if (this.#again.delete(anchorName)) this.#onChange(anchorName);
      });
  }

  /** The step this start has reached that the hub has not heard of yet, or undefined. */
  #nextStep(record: ServiceRecord, anchor: KubeObject, lc: Lifecycle, now: number): ProgressStep | undefined {
    const cfg = this.#o.config().services;
    const judged = judgeLifecycle(lc, now);
    let verdict: Verdict;
    if (judged) {
      if (judged.running) return undefined;
      // A failure goes out once the sweeper has recorded it (with its log tail) ...
      if (!lc.failure) return undefined;
      // ... except for a synchronous Outpost start: its answer (419) carries the failure.
      if (record.outpost && !record.outpost.async) return undefined;
      verdict = judged;
    } else {
      verdict = this.#o.liveVerdict(record, anchor);
      if (verdict.state === 'failed') return undefined;
    }
    const claimed = lc.progress ? STEPS.indexOf(lc.progress as StepName) : -1;
    const pods = this.#o.cache.podsOf(anchor.metadata.name, record.start_id);
    const main = mainPod(pods, cfg.container_main_name);
    const events = main ? this.#o.cache.eventsOf(main.metadata.name) : [];
    const reached = progressStep({ objects: record.objects ?? [], pods, events, verdict, mainContainer: cfg.container_main_name });
    // The first event says the objects exist, whatever the pods already show.
    const step = claimed < 0 && reached.step !== 'failed'
      ? progressStep({ objects: record.objects ?? [], pods: [], events: [], verdict: { running: true, state: 'starting', details: { error: '', detailed_error: '' } }, mainContainer: '' })
      : reached;
    return step.rank > claimed ? step : undefined;
  }

  async #evaluate(anchorName: string): Promise<void> {
    const service = this.#o.cache.byAnchor(anchorName);
    if (!service) return;
    const { record, anchor } = service;
    const uid = anchor.metadata.uid ?? '';
    const lc = lifecycleOf(anchor);
    const now = this.#o.now();
    // Only starts made with the lifecycle annotations, not yet complete, not too old.
    if (lc.deleting || lc.phase === undefined || (lc.phase === 'creating' && !lc.failure)) return;
    if (lc.progress === 'ready' || lc.progress === 'failed') return this.#forgetLater(uid, true);
    if (now - (Date.parse(record.start_date) || now) > this.#o.maxAgeMs) return;

    const step = this.#nextStep(record, anchor, lc, now);
    if (!step) return;
    const mine = lc.createdBy === createdByValue(this.#o.identity);
    if (mine && !this.#ownStarts.has(uid)) {
      // Created, but the start has not answered the hub yet: started() comes with the answer (and
      // evaluates again). A start that never gets there is sent for after the takeover time, as another replica would.
      const answerBy = (Date.parse(record.start_date) || now) + this.#o.takeoverMs;
      if (now < answerBy) {
        this.#later(answerBy - now + 10, () => this.#onChange(anchorName));
        return;
      }
    }
    if (!mine) {
      const key = `${uid}/${step.step}`;
      const first = this.#firstSeen.get(key) ?? now;
      this.#firstSeen.set(key, first);
      if (this.#firstSeen.size > 10_000) this.#firstSeen.delete(this.#firstSeen.keys().next().value as string);
      if (now - first < this.#o.takeoverMs) {
        this.#later(first + this.#o.takeoverMs - now + 10, () => this.#onChange(anchorName));
        return;
      }
    }
    const entry = { progress: hubEvent(step).progress, summary: step.summary, at: new Date(now).toISOString() };
    const log = [...progressLogOf(anchor), entry].slice(-PROGRESS_LOG_MAX);
    const claim = await this.#o.gateway.annotate<KubeObject>(anchor, {
      [ANNOTATIONS.progress]: step.step,
      [ANNOTATIONS.progressLog]: JSON.stringify(log),
    }, { resourceVersion: anchor.metadata.resourceVersion ?? '' });
    // Lost: another replica claimed, or the anchor changed; the watch brings the new state.
    if (typeof claim === 'string') return;
    const sending = await this.#sendingFor(service, mine);
    if (!sending) return;
    const event = hubEvent(step);
    // The OutpostSpawner's hub keeps a failed event aside (it only cancels the spawn) and shows
    // its own words: the cause goes first as a progress event, which the progress page lists.
    if (event.failed && record.outpost) this.#enqueue(sending, { event: { progress: 99, html_message: event.html_message }, pauseAfterMs: CAUSE_SHOWN_MS });
    this.#enqueue(sending, { event });
    const tunnel = sending.target?.tunnelUrl;
    if (step.step === 'ready' && tunnel && record.outpost?.service) this.#enqueue(sending, { tunnel: { service: record.outpost.service } });
  }

  async #sendingFor(service: { record: ServiceRecord; anchor: KubeObject }, mine: boolean): Promise<Sending | undefined> {
    const uid = service.anchor.metadata.uid ?? '';
    const existing = this.#sending.get(uid);
    if (existing) return existing;
    const own = this.#ownStarts.get(uid);
    const target = own ? own.target : await this.#targetFromSecret(service.record);
    if (!target) return undefined;
    const sending: Sending = {
      uid,
      servername: service.record.servername,
      startId: service.record.start_id,
      target,
      where: target.url.origin,
      queue: [],
      sending: false,
      failures: 0,
      notBefore: mine ? (own?.answeredAt ?? (Date.parse(service.record.start_date) || 0)) + this.#o.firstDelayMs : 0,
    };
    this.#sending.set(uid, sending);
    return sending;
  }

  /** The hub's status URL and token of a start another process took, from its env Secret. */
  #targetFromSecret(record: ServiceRecord): Promise<ProgressTarget | undefined> {
    return progressTargetOf(this.#o.gateway, this.#o.namespace, this.#o.deploymentName, record);
  }

  /**
   * A start whose queue is sent: its sending state goes; and when its final
   * step is out, also what this process knew of it as its creator.
   */
  #forgetLater(uid: string, final: boolean): void {
    const s = this.#sending.get(uid);
    if (!s || (s.queue.length === 0 && !s.sending)) {
      this.#sending.delete(uid);
      if (final) {
        this.#ownStarts.delete(uid);
      }
    }
  }

  #enqueue(s: Sending, delivery: Delivery): void {
    s.queue.push(delivery);
    // Drop the oldest progress event; a final one (the last queued) always stays.
    while (s.queue.length > this.#o.queueLimit) s.queue.shift();
    this.#pump(s);
  }

  #pump(s: Sending): void {
    if (s.sending || s.timer || this.#closed) return;
    if (s.queue.length === 0) return;
    const wait = s.notBefore - this.#o.now();
    if (wait > 0) {
      s.timer = setTimeout(() => {
        s.timer = undefined;
        this.#pump(s);
      }, wait);
      s.timer.unref();
      return;
    }
    const delivery = s.queue.shift() as Delivery;
    s.sending = true;
    const what = 'event' in delivery ? { progress: delivery.event.progress } : { setup_tunnel: delivery.tunnel.service };
    const log = () => this.#o.logger.child({ uuidcode: s.servername, start_id: s.startId, hub: s.where, ...what });
    const target = s.target as ProgressTarget;
    const call = 'event' in delivery
      ? this.#o.send(target, delivery.event, this.#o.timeoutMs)
      : this.#o.announce(target as ProgressTarget & { tunnelUrl: URL }, delivery.tunnel, this.#o.timeoutMs);
    call
      .then(
        (status) => {
          if (status >= 200 && status < 300) {
            s.failures = 0;
            if ('event' in delivery) log().debug('progress event delivered');
            else log().info('the hub was told where the service is (SetupTunnel)');
            return;
          }
          s.failures++;
          // One warning per start; later failures of the same start at debug level.
          log()[s.failures === 1 ? 'warning' : 'debug']({ status }, 'the hub refused a progress event');
          // 404: the hub does not know this server (any more): nothing later will land either.
          if (status === 404 || status === 401 || status === 403) s.failures = this.#o.maxFailures;
        },
        (err: unknown) => {
          s.failures++;
          log()[s.failures === 1 ? 'warning' : 'debug']({ err: (err as Error).message }, 'progress event not delivered to the hub');
        },
      )
      .finally(() => {
        s.sending = false;
        if (delivery.pauseAfterMs) s.notBefore = this.#o.now() + delivery.pauseAfterMs;
        if (s.failures >= this.#o.maxFailures) {
          log().info({ failures: s.failures }, 'giving up progress events for this start');
          s.queue.length = 0;
        }
        const final = 'event' in delivery ? (delivery.event.failed === true || (/Service is ready/.test(delivery.event.html_message) && !s.target?.tunnelUrl)) : true;
        if (final || s.queue.length === 0) this.#forgetLater(s.uid, final);
        this.#pump(s);
      })
      .catch(() => undefined);
  }
}

function progressLogOf(anchor: KubeObject): Array<{ progress: number; summary: string; at: string }> {
  try {
    const parsed = JSON.parse(anchor.metadata.annotations?.[ANNOTATIONS.progressLog] ?? '[]') as unknown;
    return Array.isArray(parsed) ? (parsed as Array<{ progress: number; summary: string; at: string }>) : [];
  } catch {
    return [];
  }
}

/** One observer from several (ServiceManager takes one): each hears every call, in order; one throwing does not stop the others. */
export function combineObservers(...observers: Array<ServiceObserver | undefined>): ServiceObserver {
  const all = observers.filter((o): o is ServiceObserver => o !== undefined);
  const each = (call: (o: ServiceObserver) => void) => {
    for (const o of all) {
      try {
        call(o);
      } catch {
        // An observer's failure must not break a start or a stop.
      }
    }
  };
  return {
    started: (record, request, anchor) => each((o) => o.started?.(record, request, anchor)),
    startFailed: (servername, reason) => each((o) => o.startFailed?.(servername, reason)),
    stopped: (record) => each((o) => o.stopped?.(record)),
  };
}
