// Progress events to the hub: while a service starts, POST EventBackendSpawner
// events to its JUPYTERHUB_STATUS_URL (objects created, pod scheduled, image
// pulling, container started, ready, or the failure with events and log tail).
//
// Driven by the watch caches (cache.subscribe), not by a timer; one event per
// step reached; fire-and-forget: a per-service queue (bounded) delivered one
// request at a time with a timeout, so neither a start nor a poll ever waits
// for the hub, and a hub that is down costs a logged warning. A service is
// forgotten once ready, failed, stopped or replaced. The token is never logged.
import * as http from 'node:http';
import * as https from 'node:https';
import type { Config } from '../config/schema.js';
import type { AppLogger } from '../logging/logger.js';
import { interpret, mainPod, type EventView, type PodView, type StatusPolicy, type Verdict } from '../status/interpret.js';
import { hubEvent, isNewStep, progressStep, type HubProgressEvent, type ProgressStep } from '../status/progress.js';
import { labelValue } from '../templates/names.js';
import { anchorName, LABELS } from './anchor.js';
import type { ServiceObserver } from './manager.js';
import type { Certs, StartRequest } from './request.js';
import type { ServiceRecord } from './types.js';

/** What the reporter reads from the watch caches (ServiceCache fits). */
export interface ProgressCache {
  subscribe(listener: (anchorName: string) => void): () => void;
  byAnchor(anchorName: string): { record: ServiceRecord } | undefined;
  podsOf(anchorName: string): Array<PodView & { metadata: { labels?: Record<string, string> } }>;
  eventsOf(podName: string): EventView[];
}

/** Where an event goes: the resolved status URL, the hub's token, TLS material for internal_ssl hubs. */
export interface ProgressTarget {
  url: URL;
  token: string;
  tls?: { ca: string; cert: string; key: string };
}

/** Sends one event; resolves to the HTTP status. Rejects on network errors and timeouts. */
export type ProgressSender = (target: ProgressTarget, event: HubProgressEvent, timeoutMs: number) => Promise<number>;

export interface ProgressReporterOptions {
  cache: ProgressCache;
  config: () => Config;
  logger: AppLogger;
  /** Reads the last lines of a container's log (KubeGateway.podLogTail with the service namespace bound). */
  logTail: (pod: string, container: string, lines: number) => Promise<string>;
  /** Default: an HTTP(S) POST with `Authorization: token <JUPYTERHUB_API_TOKEN>`. */
  send?: ProgressSender;
  /** Per request; default 5 s. */
  timeoutMs?: number;
  /** Events waiting per service; older progress events are dropped first. Default 8. */
  queueLimit?: number;
  /** Consecutive failed deliveries after which a service's events are given up. Default 3. */
  maxFailures?: number;
  /**
   * The first event waits this long after the start: the hub records its own "backend
   * communication successful" event when the 201 reaches it, and ours should come after. Default 300 ms.
   */
  firstDelayMs?: number;
  /** A failure is reported this long after it is seen, so that the events about it are in. Default 1 s. */
  failureSettleMs?: number;
  /** A service that is neither ready nor failed after this long is forgotten. Default 1 h. */
  maxAgeMs?: number;
  /** Services followed at most (the oldest is forgotten first). Default 10,000. */
  maxServices?: number;
}

interface Tracked {
  anchor: string;
  servername: string;
  startId: string;
  objects: readonly string[];
  target: ProgressTarget;
  /** For log lines: the hub's origin (the status URL itself is an env value, masked in logs). */
  where: string;
  last?: ProgressStep;
  queue: HubProgressEvent[];
  sending: boolean;
  failures: number;
  /** The final step is queued: forget the service once the queue is empty. */
  done: boolean;
  /** The anchor of this start was seen in the cache (so its disappearance means stopped). */
  seen: boolean;
  logTailRequested: boolean;
  logTail?: string;
  notBefore: number;
  timer?: NodeJS.Timeout;
  startedAt: number;
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
export const postProgress: ProgressSender = (target, event, timeoutMs) =>
  new Promise<number>((resolve, reject) => {
    const body = JSON.stringify(event);
    const secure = target.url.protocol === 'https:';
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
    const req = (secure ? https : http).request(target.url, options, (res) => {
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

function tlsFrom(certs: Certs | undefined): ProgressTarget['tls'] {
  return certs ? { ca: certs.cafile, cert: certs.certfile, key: certs.keyfile } : undefined;
}

export class ProgressReporter implements ServiceObserver {
  readonly #opts: Required<Omit<ProgressReporterOptions, 'send'>> & { send: ProgressSender };
  readonly #tracked = new Map<string, Tracked>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(opts: ProgressReporterOptions) {
    this.#opts = {
      send: postProgress,
      timeoutMs: 5000,
      queueLimit: 8,
      maxFailures: 3,
      firstDelayMs: 300,
      failureSettleMs: 1000,
      maxAgeMs: 60 * 60_000,
      maxServices: 10_000,
      ...opts,
    };
    this.#unsubscribe = opts.cache.subscribe((name) => this.#onChange(name));
  }

  /** Services currently followed (for tests and metrics). */
  get size(): number {
    return this.#tracked.size;
  }

  started(record: ServiceRecord, request: StartRequest): void {
    if (this.#closed) return;
    try {
      this.#follow(record, request);
    } catch (err) {
      // Progress is a courtesy: it never fails a start.
      this.#opts.logger.warning({ uuidcode: record.servername, err: (err as Error).message }, 'progress events not set up');
    }
  }

  #follow(record: ServiceRecord, request: StartRequest): void {
    const anchor = anchorName(record.jhub_credential, record.servername);
    this.#forget(anchor);
    this.#sweep();
    const log = this.#opts.logger.child({ uuidcode: record.servername, start_id: record.start_id });
    const url = resolveStatusUrl(request.statusUrl, request.env.JUPYTERHUB_API_URL);
    if (!url || !request.apiToken) {
      log.debug('no usable JUPYTERHUB_STATUS_URL (or no token): no progress events for this start');
      return;
    }
    const tls = tlsFrom(request.certs);
    const now = Date.now();
    const tracked: Tracked = {
      anchor,
      servername: record.servername,
      startId: record.start_id,
      objects: record.objects ?? [],
      target: { url, token: request.apiToken, ...(tls ? { tls } : {}) },
      where: url.origin,
      queue: [],
      sending: false,
      failures: 0,
      done: false,
      seen: false,
      logTailRequested: false,
      notBefore: now + this.#opts.firstDelayMs,
      startedAt: now,
    };
    this.#tracked.set(anchor, tracked);
    // The objects exist now: that is the first step, whatever the pods already show.
    const created = progressStep({
      objects: tracked.objects, pods: [], events: [], mainContainer: '',
      verdict: { running: true, state: 'starting', details: { error: '', detailed_error: '' } },
    });
    tracked.last = created;
    this.#enqueue(tracked, hubEvent(created));
    this.#evaluate(tracked);
  }

  startFailed(servername: string, _reason: string): void {
    // The hub hears this failure from the 5xx answer itself; stop following any
    // earlier start of this servername.
    for (const t of [...this.#tracked.values()]) if (t.servername === servername) this.#forget(t.anchor);
  }

  stopped(record: ServiceRecord): void {
    const t = this.#tracked.get(anchorName(record.jhub_credential, record.servername));
    if (t && t.startId === record.start_id) this.#forget(t.anchor);
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const anchor of [...this.#tracked.keys()]) this.#forget(anchor);
  }

  #onChange(anchor: string): void {
    const t = this.#tracked.get(anchor);
    if (!t) return;
    try {
      this.#evaluate(t);
    } catch (err) {
      // Never let a progress problem disturb the watch caches.
      this.#opts.logger.warning({ uuidcode: t.servername, err: (err as Error).message }, 'progress evaluation failed');
    }
  }

  #forget(anchor: string): void {
    const t = this.#tracked.get(anchor);
    if (!t) return;
    if (t.timer) clearTimeout(t.timer);
    t.queue.length = 0;
    t.done = true;
    this.#tracked.delete(anchor);
  }

  #sweep(): void {
    const now = Date.now();
    for (const t of [...this.#tracked.values()]) if (now - t.startedAt > this.#opts.maxAgeMs) this.#forget(t.anchor);
    while (this.#tracked.size >= this.#opts.maxServices) {
      const oldest = this.#tracked.keys().next().value;
      if (oldest === undefined) break;
      this.#forget(oldest);
    }
  }

  #evaluate(t: Tracked): void {
    if (t.done || this.#tracked.get(t.anchor) !== t) return;
    const cached = this.#opts.cache.byAnchor(t.anchor);
    if (cached && cached.record.start_id === t.startId) {
      if (cached.record.stop_pending) return this.#forget(t.anchor);
      t.seen = true;
    } else if (t.seen) {
      // Our anchor is gone or replaced: stopped, or another start took over.
      return this.#forget(t.anchor);
    }
    const cfg = this.#opts.config().services;
    const policy: StatusPolicy = {
      mainContainer: cfg.container_main_name,
      failingEventTypes: cfg.pod_events_to_fail,
      eventsShown: cfg.status_information.pod_events_no,
    };
    const startLabel = labelValue(t.startId);
    const pods = this.#opts.cache.podsOf(t.anchor).filter((p) => p.metadata.labels?.[LABELS.startId] === startLabel);
    const main = mainPod(pods, policy.mainContainer);
    const events = main ? this.#opts.cache.eventsOf(main.metadata.name) : [];
    const verdict: Verdict = interpret({ stopPending: false, pods, events, ...(t.logTail !== undefined ? { logTail: t.logTail } : {}) }, policy);
    if (verdict.needsLogTail && t.logTail === undefined) {
      // A failure: its event waits for the log tail (read once), then this runs again.
      // It waits failureSettleMs first: the kubelet records its Warning event about the
      // same time the container state changes, and the user should see both.
      if (!t.logTailRequested) {
        t.logTailRequested = true;
        const { pod, container } = verdict.needsLogTail;
        const read = () => {
          if (t.done) return;
          this.#opts
            .logTail(pod, container, cfg.status_information.container_logs_lines)
            .catch((err: unknown) => `(log not available: ${(err as Error).message})`)
            .then((tail) => {
              t.logTail = tail;
              this.#onChange(t.anchor);
            }, () => undefined);
        };
        if (this.#opts.failureSettleMs > 0) setTimeout(read, this.#opts.failureSettleMs).unref();
        else read();
      }
      return;
    }
    const step = progressStep({ objects: t.objects, pods, events, verdict, mainContainer: policy.mainContainer });
    if (!isNewStep(t.last, step)) return;
    t.last = step;
    if (step.final) t.done = true;
    this.#enqueue(t, hubEvent(step));
  }

  #enqueue(t: Tracked, event: HubProgressEvent): void {
    t.queue.push(event);
    while (t.queue.length > this.#opts.queueLimit) {
      // Drop the oldest progress event; a final one (the last queued) always stays.
      t.queue.shift();
    }
    this.#pump(t);
  }

  #pump(t: Tracked): void {
    if (t.sending || t.timer) return;
    if (t.queue.length === 0) {
      if (t.done && this.#tracked.get(t.anchor) === t) this.#tracked.delete(t.anchor);
      return;
    }
    const wait = t.notBefore - Date.now();
    if (wait > 0) {
      t.timer = setTimeout(() => {
        t.timer = undefined;
        this.#pump(t);
      }, wait);
      t.timer.unref();
      return;
    }
    const event = t.queue.shift() as HubProgressEvent;
    t.sending = true;
    const log = () => this.#opts.logger.child({ uuidcode: t.servername, start_id: t.startId, hub: t.where, progress: event.progress });
    this.#opts
      .send(t.target, event, this.#opts.timeoutMs)
      .then(
        (status) => {
          if (status >= 200 && status < 300) {
            t.failures = 0;
            log().debug('progress event delivered');
            return;
          }
          t.failures++;
          // One warning per start; later failures of the same start at debug level.
          log()[t.failures === 1 ? 'warning' : 'debug']({ status }, 'the hub refused a progress event');
          // 404: the hub does not know this server (any more): nothing later will land either.
          if (status === 404 || status === 401 || status === 403) t.failures = this.#opts.maxFailures;
        },
        (err: unknown) => {
          t.failures++;
          log()[t.failures === 1 ? 'warning' : 'debug']({ err: (err as Error).message }, 'progress event not delivered to the hub');
        },
      )
      .finally(() => {
        t.sending = false;
        if (t.failures >= this.#opts.maxFailures) {
          if (this.#tracked.get(t.anchor) === t) {
            log().info({ failures: t.failures }, 'giving up progress events for this start');
            this.#forget(t.anchor);
          }
          return;
        }
        this.#pump(t);
      })
      .catch(() => undefined);
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
    started: (record, request) => each((o) => o.started?.(record, request)),
    startFailed: (servername, reason) => each((o) => o.startFailed?.(servername, reason)),
    stopped: (record) => each((o) => o.stopped?.(record)),
  };
}
