// Start, poll, update and stop of user services: steps over templates/ (pure
// rendering) and kube/ (the gateway), with the watch caches answering polls.
//
// Every fact that changes an answer lives on the start's anchor in the cluster
// (see lifecycle.ts), so every replica gives the same answer and a restart
// forgets nothing. What this process keeps in memory only bridges the few
// milliseconds until its own watch shows its own writes, and is keyed by the
// anchor's uid, i.e. by one start.
import type { Principal } from '../auth/types.js';
import type { Config } from '../config/schema.js';
import type { ManagerEnv } from '../config/env.js';
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { OwnWrites } from '../kube/own-writes.js';
import { RetryWindow } from '../kube/retry.js';
import type { AppLogger } from '../logging/logger.js';
import { conflictError, DomainError, failedError, invalidInput, isDomainError, notFoundError, unavailableError } from '../errors.js';
import { exitCode, hasRun, interpret, mainPod, type PodView, type Verdict } from '../status/interpret.js';
import { attachOwner, buildCertsSecret, buildEnvSecret, isTemplateError, type PreparedService } from '../templates/index.js';
import { writeRenderedCopy } from '../templates/files.js';
import { prepareService } from './prepare.js';
import { anchorName, buildAnchor, buildStopMarker, isStopMarker, objectRef, objectRefs, ownerRefTo, readRecord } from './anchor.js';
import type { CachedService, ServiceCache } from './cache.js';
import { ANNOTATIONS, createdByValue, judgeLifecycle, lifecycleOf } from './lifecycle.js';
import type { ProcessIdentity } from '../kube/identity.js';
import { parseStartRequest, validServername, type StartRequest } from './request.js';
import type { PollAnswer, ServiceRecord, ServiceState } from './types.js';
import { ensureUserhome } from './userhome.js';
import { releaseEnv } from './env-secret.js';

/** Who this process is: the replica (pod) name and a random id per process start (kube/identity.ts). */
export type ReplicaIdentity = ProcessIdentity;

/** Site limits on starts (flavors): asked before anything is created, told when a start is over. */
export interface StartAdmission {
  admit(req: { credential: string; servername: string; startId: string; userId: number | string; userOptions: Record<string, unknown>; env: Record<string, string>; authentication?: Readonly<Record<string, unknown>> | undefined }): Promise<{
    keywords: Record<string, string>;
    patchObjects(objects: Array<Record<string, unknown>>): void;
    annotations: Record<string, string>;
  }>;
  release(start: { credential: string; servername: string; startId: string; env?: Record<string, string> }): Promise<void>;
  /** Env values release() wants for a credential's starts (read from the env Secret when the start was not received here). */
  releaseEnvKeys?(credential: string): readonly string[];
}

export interface ServiceManagerDeps {
  config: () => Config;
  env: ManagerEnv;
  gateway: KubeGateway;
  cache: ServiceCache;
  logger: AppLogger;
  identity: ReplicaIdentity;
  /** Told about starts and their outcome (metrics, progress events). */
  observer?: ServiceObserver;
  admission?: StartAdmission;
  /** Values that must never appear in a log line (the logger masks them). */
  secrets?: { add(values: Iterable<unknown>): void };
  now?: () => number;
}

export interface ServiceObserver {
  started?(record: ServiceRecord, request: StartRequest, anchor: KubeObject): void;
  startFailed?(servername: string, reason: string): void;
  stopped?(record: ServiceRecord): void;
}

/** How a start turned out (awaitOutcome). */
export type Outcome =
  | { kind: 'running'; service: CachedService }
  | { kind: 'failed'; service: CachedService; answer: PollAnswer }
  | { kind: 'timeout'; service: CachedService; answer: PollAnswer }
  /** Stopped or replaced meanwhile. */
  | { kind: 'gone' }
  /** The caller stopped waiting. */
  | { kind: 'aborted' };

/** What an API adds to the common start path. */
export interface LaunchHooks {
  /**
   * Called with the rendered template objects and the record before anything is
   * created: may complete the record (the Outpost face sets the service's
   * address) or throw a DomainError to refuse the start.
   */
  beforeCreate?(objects: readonly KubeObject[], record: ServiceRecord): void;
  /**
   * The API answers only once the service is ready, within this many ms after
   * the objects exist, and calls answered() then. Until it does, the start is
   * its creator's: if the creator dies, the start is interrupted and removed
   * (the hub never heard of it), not left running.
   */
  answerWithinMs?: number;
}

/** Log reads kept (the oldest is forgotten first). */
const LOG_TAIL_CACHE_MAX = 5000;
/** Services whose last poll time is kept (the oldest is forgotten first). */
const LAST_POLL_MAX = 50_000;
/** Own writes not yet seen through the watch are bridged this long at most. */
const OWN_WRITE_BRIDGE_MS = 60_000;
/** A stop marker holds back starts that began before it, allowing this much clock skew between replicas. */
const CLOCK_SKEW_MS = 2_000;

/** The API of the services room (the HTTP routes call it). */
export interface ServiceApi {
  start(principal: Principal, headers: Record<string, string | string[] | undefined>, body: unknown): Promise<ServiceRecord>;
  list(principal: Principal): ServiceRecord[];
  poll(principal: Principal, servername: string): Promise<PollAnswer>;
  update(principal: Principal, servername: string, body: unknown): Promise<ServiceRecord>;
  stop(principal: Principal, servername: string): Promise<void>;
}

export class ServiceManager implements ServiceApi {
  readonly #deps: ServiceManagerDeps;
  /** Anchors this process created, changed or deleted that its watch may not show yet, by anchor name. */
  readonly #own: OwnWrites<CachedService>;
  /** Log lines read from the API, by container run and line count, with when they were read (#readLog). */
  readonly #logs = new Map<string, { at: number; lines: string[] }>();
  /** When this replica last answered a poll, by anchor uid (metrics only: it changes no answer). */
  readonly #lastPoll = new Map<string, number>();

  constructor(deps: ServiceManagerDeps) {
    this.#deps = deps;
    this.#own = new OwnWrites<CachedService>((s) => s.anchor, { bridgeMs: OWN_WRITE_BRIDGE_MS, now: () => this.#now() });
  }

  get #ns(): string {
    return this.#deps.env.serviceNamespace;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /** The current start of a servername as the cache shows it, with this process's own writes laid over. */
  #cached(credential: string, servername: string): CachedService | undefined {
    return this.#own.view(anchorName(credential, servername), this.#deps.cache.find(credential, servername));
  }

  /**
   * The current start of a servername: from the cache, and on a miss from the
   * apiserver (one read), because another replica may have created it a moment
   * ago. A hit costs no API call.
   */
  async #find(credential: string, servername: string): Promise<CachedService | undefined> {
    if (!validServername(servername)) return undefined;
    const cached = this.#cached(credential, servername);
    if (cached) return cached;
    const anchor = await this.#deps.gateway.read<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: anchorName(credential, servername), namespace: this.#ns } });
    if (!anchor || isStopMarker(anchor) || this.#own.isDeleted(anchor)) return undefined;
    const record = readRecord(anchor);
    return record && record.jhub_credential === credential && record.servername === servername ? { record, anchor } : undefined;
  }

  /** The current start of a servername for this credential (the cache, one read on a miss). */
  lookup(credential: string, servername: string): Promise<CachedService | undefined> {
    return this.#find(credential, servername);
  }

  /**
   * Waits until a start's main container is ready, has failed, or the start is
   * gone (stopped, replaced), driven by the watch caches: no polling of the API.
   * A failure comes with its log tail (one API call). `timeout` after `timeoutMs`
   * with the verdict at that moment.
   */
  awaitOutcome(started: CachedService, timeoutMs: number, signal?: AbortSignal): Promise<Outcome> {
    const { record, anchor } = started;
    const uid = anchor.metadata.uid;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let checking = false;
      let again = false;
      const finish = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const current = () => {
        const now = this.#cached(record.jhub_credential, record.servername);
        return now && now.anchor.metadata.uid === uid ? now : undefined;
      };
      const check = async (): Promise<void> => {
        if (settled) return;
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          const now = current();
          if (!now || now.record.stop_pending) return finish({ kind: 'gone' });
          const verdict = this.verdictOf(now.record, now.anchor);
          if (verdict.state === 'running') return finish({ kind: 'running', service: now });
          if (verdict.state === 'failed') return finish({ kind: 'failed', service: now, answer: await this.verdictWithLogs(now.record, now.anchor) });
          if (verdict.state === 'stopping') return finish({ kind: 'gone' });
        } catch (err) {
          this.#deps.logger.debug({ uuidcode: record.servername, err: (err as Error).message }, 'checking a start\'s outcome failed; the next change checks again');
        } finally {
          checking = false;
          if (again && !settled) {
            again = false;
            void check();
          }
        }
      };
      const onAbort = () => finish({ kind: 'aborted' });
      const name = anchor.metadata.name;
      const unsubscribe = this.#deps.cache.subscribe((changed) => {
        if (changed === name) void check();
      });
      const timer = setTimeout(() => {
        const now = current();
        finish(now ? { kind: 'timeout', service: now, answer: withoutHints(this.verdictOf(now.record, now.anchor)) } : { kind: 'gone' });
      }, timeoutMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
      void check();
    });
  }

  /**
   * A start launched with `answerWithinMs` has answered the hub: from now on it
   * is the hub's like any other. False when the start was stopped or has ended
   * meanwhile (the answer must then be its failure).
   */
  async answered(service: CachedService): Promise<boolean> {
    let anchor: KubeObject | undefined = service.anchor;
    for (let attempt = 0; attempt < 5 && anchor; attempt++) {
      if (anchor.metadata.uid !== service.anchor.metadata.uid || judgeLifecycle(lifecycleOf(anchor), this.#now())?.running === false) return false;
      const done = await this.#deps.gateway.annotate<KubeObject>(anchor, { [ANNOTATIONS.answerBy]: null }, { resourceVersion: anchor.metadata.resourceVersion ?? '' });
      if (done === 'gone') return false;
      if (done !== 'conflict') {
        this.#own.wrote(done.metadata.name, { record: service.record, anchor: done });
        return true;
      }
      // Another writer (a progress claim) came first: read and try again.
      anchor = await this.#deps.gateway.read<KubeObject>(service.anchor);
    }
    return false;
  }

  /** The pods of one start as the cache holds them. */
  podsOf(service: CachedService): PodView[] {
    return this.#deps.cache.podsOf(service.anchor.metadata.name, service.record.start_id);
  }

  /** The exit code of the main container's last run, when it has exited. */
  exitCodeOf(service: CachedService): number | undefined {
    return exitCode(this.podsOf(service), this.#deps.config().services.container_main_name);
  }

  /**
   * The last `lines` lines of the main container's log, read at most once per
   * `maxAgeMs` per container run (the answer is kept meanwhile), so that a hub
   * polling with logs costs a bounded number of API calls. Empty when the
   * container has not run.
   */
  async logLines(service: CachedService, lines: number, maxAgeMs: number): Promise<string[]> {
    const container = this.#deps.config().services.container_main_name;
    const pod = mainPod(this.podsOf(service), container);
    const status = pod?.status?.containerStatuses?.find((c) => c.name === container);
    if (!pod || lines <= 0 || !hasRun(status)) return [];
    return this.#readLog(pod.metadata.name, container, status?.restartCount ?? 0, lines, maxAgeMs);
  }

  /**
   * The last `lines` lines of one run of a container (pod, container, restart count),
   * read from the API at most once per `maxAgeMs` (Infinity: once) and kept meanwhile:
   * the only API call an answer can make.
   */
  async #readLog(podName: string, container: string, restarts: number, lines: number, maxAgeMs: number): Promise<string[]> {
    const key = `${podName}/${container}/${restarts}/${lines}`;
    const now = this.#now();
    const kept = this.#logs.get(key);
    if (kept && now - kept.at <= maxAgeMs) return kept.lines;
    const out = (await this.#deps.gateway.podLogTail(this.#ns, podName, container, lines)).split('\n');
    if (out.at(-1) === '') out.pop();
    const tail = out.slice(-lines);
    this.#logs.delete(key);
    this.#logs.set(key, { at: now, lines: tail });
    if (this.#logs.size > LOG_TAIL_CACHE_MAX) this.#logs.delete(this.#logs.keys().next().value as string);
    return tail;
  }


  /** Every start of a credential, with its anchor, as the cache holds them. */
  servicesOf(credential: string): CachedService[] {
    return this.#deps.cache.byCredential(credential);
  }

  list(principal: Principal): ServiceRecord[] {
    return this.servicesOf(principal.credential).map((s) => s.record);
  }

  async start(principal: Principal, headers: Record<string, string | string[] | undefined>, body: unknown): Promise<ServiceRecord> {
    const parsed = parseStartRequest(headers, body, this.#deps.config().services);
    if (Array.isArray(parsed)) throw invalidInput(...parsed);
    return (await this.launch(principal, parsed)).record;
  }

  /** A start whose request an API has parsed (the seed's above, the Outpost face): the one path from admission on. */
  async launch(principal: Principal, req: StartRequest, hooks: LaunchHooks = {}): Promise<CachedService> {
    const receivedAt = this.#now();
    const cfg = this.#deps.config();
    this.#deps.secrets?.add([
      ...Object.values(req.env),
      ...(req.certs ? Object.values(req.certs) : []),
      ...Object.values(req.trustBundles ?? {}),
      // The hub's access token of the user, sent for flavor rules.
      ...(typeof req.authentication?.access_token === 'string' ? [req.authentication.access_token] : []),
    ]);
    const credential = principal.credential;
    const log = this.#deps.logger.child({ uuidcode: req.servername, credential, action: 'start', start_id: req.startId });

    // The cache alone (no API read): a start that another replica made a moment ago is met
    // when this one creates the anchor (same name), and answered there.
    const existing = this.#cached(credential, req.servername);
    if (existing && existing.record.start_id === req.startId && !existing.record.stop_pending) {
      log.info('start repeated with the same start_id: answering with the existing service');
      return existing;
    }

    const startRef = { credential, servername: req.servername, startId: req.startId, env: req.env };
    const admitted = await this.#deps.admission?.admit({ ...startRef, userId: req.userId, userOptions: req.userOptions, authentication: req.authentication });
    const release = () => this.#deps.admission?.release(startRef).catch(() => undefined);
    let prepared: PreparedService;
    try {
      // Render first: a bad template or user option changes nothing in the cluster.
      prepared = await this.#prepare(cfg, credential, req, log, 'start', req.userOptions, { ...req.keywords, ...admitted?.keywords });
      admitted?.patchObjects(prepared.objects as Array<Record<string, unknown>>);
    } catch (err) {
      await release();
      throw err;
    }
    if (existing) {
      log.info({ previous_start_id: existing.record.start_id }, 'replacing the previous start of this servername');
      await this.#removeStart(existing, log);
    }

    const record: ServiceRecord = {
      servername: req.servername,
      start_id: req.startId,
      user_options: req.userOptions,
      jhub_user_id: req.userId,
      jhub_credential: credential,
      start_date: new Date(receivedAt).toISOString(),
      stop_pending: false,
      namespace: this.#ns,
      objects: [],
      ...(req.outpost ? { outpost: { ...req.outpost, service: '' } } : {}),
    };
    let objects: KubeObject[];
    try {
      const envSecret = buildEnvSecret({
        name: prepared.names.envSecret, namespace: this.#ns, labels: prepared.labels,
        env: req.env, extraEnv: cfg.services.env, skip: cfg.services.env_skip, servername: req.servername, id: prepared.id,
      });
      // The seed API keeps the hub's certs when the site enables ssl; an Outpost hub sends them only when it runs internal_ssl.
      const certsSecret = (cfg.services.ssl.enabled || req.outpost) && req.certs
        ? buildCertsSecret({ name: prepared.names.certsSecret, namespace: this.#ns, labels: prepared.labels, certs: req.certs, trustBundles: req.trustBundles })
        : undefined;
      objects = [envSecret, ...(certsSecret ? [certsSecret] : []), ...(prepared.objects as KubeObject[])];
      // The API's last word before anything exists (the Outpost face finds the service's address here).
      hooks.beforeCreate?.(prepared.objects as KubeObject[], record);
    } catch (err) {
      await release();
      throw templateToDomain(err, cfg);
    }
    record.objects = objects.map(objectRef);

    const deadline = receivedAt + cfg.services.creation_timeout_seconds * 1000;
    const { identity } = this.#deps;
    const annotations = {
      ...admitted?.annotations,
      [ANNOTATIONS.phase]: 'creating',
      [ANNOTATIONS.createdBy]: createdByValue(identity),
      [ANNOTATIONS.creatingUntil]: new Date(deadline).toISOString(),
      ...(hooks.answerWithinMs !== undefined ? { [ANNOTATIONS.answerBy]: new Date(deadline + hooks.answerWithinMs).toISOString() } : {}),
    };
    let anchor: KubeObject;
    try {
      const created = await this.#createAnchor(record, annotations, receivedAt, log);
      // The same start (same reservation key) won on another request: answer as it did.
      if ('existing' in created) return created.existing;
      anchor = created.anchor;
    } catch (err) {
      await release();
      throw err;
    }
    this.#own.wrote(anchor.metadata.name, { record, anchor });

    try {
      const owner = ownerRefTo(anchor);
      for (const obj of objects) {
        if (this.#now() > deadline) throw new Error(`creating the objects took longer than services.creation_timeout_seconds (${cfg.services.creation_timeout_seconds} s)`);
        await this.#deps.gateway.apply(attachOwner(obj, owner));
      }
      await ensureUserhome(cfg, { credential, service: req.service.split('/')[0] ?? req.service, userId: req.userId });
      // Every object exists: the start is complete. Compare-and-swap on the anchor as we
      // created it, so a stop or an "interrupted" verdict of another replica meanwhile wins.
      const done = await this.#deps.gateway.annotate<KubeObject>(anchor, { [ANNOTATIONS.phase]: 'created' }, { resourceVersion: anchor.metadata.resourceVersion });
      if (done === 'gone') throw new DomainError('failed', 'The service was stopped while it was starting.', { detail: 'the anchor was deleted before the start finished' });
      if (done === 'conflict') {
        const now = await this.#deps.gateway.read<KubeObject>(anchor);
        if (!now || now.metadata.uid !== anchor.metadata.uid || now.metadata.deletionTimestamp) {
          throw new DomainError('failed', 'The service was stopped while it was starting.', { detail: 'the anchor was deleted before the start finished' });
        }
        const judged = judgeLifecycle(lifecycleOf(now), this.#now());
        if (judged && !judged.running) throw new DomainError('failed', judged.details.error, { detail: judged.details.detailed_error });
        const again = await this.#deps.gateway.annotate<KubeObject>(now, { [ANNOTATIONS.phase]: 'created' }, { resourceVersion: now.metadata.resourceVersion });
        if (typeof again === 'string') throw new Error(`could not mark the start complete (${again})`);
        anchor = again;
      } else {
        anchor = done;
      }
      this.#own.wrote(anchor.metadata.name, { record, anchor });
    } catch (err) {
      const message = (err as Error).message;
      log.error({ err: message }, 'start failed: removing what was created');
      this.#own.forget(anchor.metadata.name);
      await this.#removeStart({ record, anchor }, log).catch((cleanupErr: unknown) =>
        log.error({ err: (cleanupErr as Error).message }, 'cleanup after a failed start failed; the garbage collector will finish it'),
      );
      this.#deps.observer?.startFailed?.(req.servername, message);
      if (isDomainError(err)) throw err;
      throw failedError(cfg.error_messages.start ?? 'Could not start service.', message, err);
    }

    await writeRenderedCopy(cfg.services.base, prepared.id, prepared.files).catch((err: unknown) =>
      log.warning({ err: (err as Error).message }, 'could not keep the rendered copy under services.base'),
    );
    log.info({ objects: record.objects.length }, 'service started');
    this.#deps.observer?.started?.(record, req, anchor);
    return { record, anchor };
  }

  async #prepare(cfg: Config, credential: string, req: StartRequest, log: AppLogger, which: 'start' | 'update', userOptions: Record<string, unknown>, keywords?: Record<string, string>): Promise<PreparedService> {
    try {
      return await prepareService(cfg, this.#deps.env, {
        credential, servername: req.servername, startId: req.startId, service: req.service, userId: req.userId, userOptions,
        ...(keywords ? { keywords } : {}),
      }, which);
    } catch (err) {
      if (isTemplateError(err)) log.warning({ code: err.code, err: err.message }, 'template refused');
      throw templateToDomain(err, cfg);
    }
  }

  /**
   * Creates the anchor. The apiserver decides between starts of one servername
   * (same anchor name): a repeat of this start answers as the first did; a stop
   * that came while this request was on its way wins; an anchor being deleted is
   * waited for; any other start wins and this one is a conflict.
   */
  async #createAnchor(record: ServiceRecord, annotations: Record<string, string>, receivedAt: number, log: AppLogger): Promise<{ anchor: KubeObject } | { existing: CachedService }> {
    const anchor = buildAnchor(this.#deps.env.deploymentName, this.#ns, record, annotations);
    // Retries without a pause where the apiserver's answer changed (deleted meanwhile, an old stop marker removed).
    const window = new RetryWindow({ intervalMs: 250, timeoutMs: 10_000 });
    while (!window.expired) {
      const result = await this.#deps.gateway.create(anchor);
      if (result.created) return { anchor: result.object };
      const current = await this.#deps.gateway.read<KubeObject>(anchor);
      if (!current) continue; // deleted meanwhile: try again
      if (isStopMarker(current)) {
        const stopAt = Date.parse(current.metadata.annotations?.['k8smgr.io/stop-requested'] ?? '') || 0;
        if (stopAt >= receivedAt - CLOCK_SKEW_MS) {
          log.info('a stop of this servername came while the start was on its way: not starting');
          throw new DomainError('failed', 'The service was stopped while it was starting.', { detail: 'a stop request arrived before the start had created anything' });
        }
        await this.#deps.gateway.delete({ ...current, metadata: { name: current.metadata.name, namespace: this.#ns, uid: current.metadata.uid ?? '' } });
        continue;
      }
      const other = readRecord(current);
      if (other && other.start_id === record.start_id && !other.stop_pending) return { existing: { record: other, anchor: current } };
      if (current.metadata.deletionTimestamp) {
        await window.pause();
        continue;
      }
      log.warning({ other_start_id: other?.start_id }, 'a concurrent start of this servername won');
      throw conflictError(`Another start of ${record.servername} is in progress.`);
    }
    throw unavailableError('Could not start service.', 'the previous service of this servername is still being removed');
  }

  /**
   * Ends a start: the anchor first (every replica's watch sees the stop at once,
   * and the garbage collector takes what we miss), then the objects, so nothing
   * waits for the collector.
   */
  async #removeStart(service: CachedService, log: AppLogger): Promise<void> {
    const { record, anchor } = service;
    const uid = anchor.metadata.uid ?? '';
    // Read before the anchor goes: the garbage collector then takes the env Secret at any moment.
    const env = await releaseEnv(this.#deps.admission, this.#deps.gateway, this.#ns, record);
    this.#own.deleted(uid);
    await this.#deps.gateway.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: anchor.metadata.name, namespace: this.#ns, uid } });
    await this.removeWorkload(record);
    await this.#deps.admission?.release({ credential: record.jhub_credential, servername: record.servername, startId: record.start_id, ...(env ? { env } : {}) }).catch((err: unknown) =>
      log.warning({ err: (err as Error).message }, 'could not release the start\'s admission'),
    );
  }

  /** Deletes the objects of one start (not its anchor). */
  async removeWorkload(record: ServiceRecord): Promise<void> {
    const refs = objectRefs(record, this.#ns);
    await Promise.all(refs.map((ref) => this.#deps.gateway.delete(ref)));
  }

  #policy(cfg: Config) {
    return {
      mainContainer: cfg.services.container_main_name,
      failingEventTypes: cfg.services.pod_events_to_fail,
      eventsShown: cfg.services.status_information.pod_events_no,
    };
  }

  /** The verdict from the anchor and the caches alone (no log tail): for polls, metrics, progress, the sweeper. */
  verdictOf(record: ServiceRecord, anchor: KubeObject): Verdict {
    const judged = judgeLifecycle(lifecycleOf(anchor), this.#now());
    if (judged) return judged;
    return this.liveVerdict(record, anchor);
  }

  /** The verdict of the pods and events of this start, whatever the anchor says. */
  liveVerdict(record: ServiceRecord, anchor: KubeObject, logTail?: string): Verdict {
    const pods = this.#deps.cache.podsOf(anchor.metadata.name, record.start_id);
    const policy = this.#policy(this.#deps.config());
    // Events matter only for the main pod, the one interpret() judges.
    const main = mainPod(pods, policy.mainContainer);
    const events = main ? this.#deps.cache.eventsOf(main.metadata.name) : [];
    return interpret({ stopPending: record.stop_pending, pods, events, ...(logTail !== undefined ? { logTail } : {}) }, policy);
  }

  /** The verdict with the failed container's log tail when a failure needs it (one API call per failed container, cached). */
  async verdictWithLogs(record: ServiceRecord, anchor: KubeObject): Promise<PollAnswer> {
    const verdict = this.verdictOf(record, anchor);
    if (!verdict.needsLogTail) return withoutHints(verdict);
    const pods = this.#deps.cache.podsOf(anchor.metadata.name, record.start_id);
    const tail = await this.#logTail(verdict.needsLogTail.pod, verdict.needsLogTail.container, pods, this.#deps.config().services.status_information.container_logs_lines);
    return withoutHints(this.liveVerdict(record, anchor, tail));
  }

  /** Services by state, for the metrics; failed starts whose workload is removed apart. */
  countByState(): Record<ServiceState | 'failed_cleaned_up', number> {
    const counts: Record<ServiceState | 'failed_cleaned_up', number> = { starting: 0, running: 0, failed: 0, stopping: 0, failed_cleaned_up: 0 };
    for (const { record, anchor } of this.#deps.cache.all()) {
      if (lifecycleOf(anchor).cleanedUp !== undefined) counts.failed_cleaned_up++;
      else counts[this.verdictOf(record, anchor).state]++;
    }
    return counts;
  }

  /** Seconds since this replica last answered a poll of each service (since its start when never), for the metrics. */
  *secondsSinceLastPoll(): Iterable<number> {
    const now = this.#now();
    for (const { record, anchor } of this.#deps.cache.all()) {
      const last = this.#lastPoll.get(anchor.metadata.uid ?? '') ?? (Date.parse(record.start_date) || now);
      yield Math.max(0, (now - last) / 1000);
    }
  }

  async poll(principal: Principal, servername: string): Promise<PollAnswer> {
    const found = await this.#find(principal.credential, servername);
    if (!found) throw notFoundError();
    const uid = found.anchor.metadata.uid ?? '';
    this.#lastPoll.delete(uid);
    this.#lastPoll.set(uid, this.#now());
    if (this.#lastPoll.size > LAST_POLL_MAX) this.#lastPoll.delete(this.#lastPoll.keys().next().value as string);
    return this.verdictWithLogs(found.record, found.anchor);
  }

  /** A failed container's log tail, read once (one API call per failed container run) and kept. */
  async #logTail(podName: string, container: string, pods: KubeObject[], lines: number): Promise<string> {
    const pod = pods.find((p) => p.metadata.name === podName) as { status?: { containerStatuses?: Array<{ name: string; restartCount?: number }> } } | undefined;
    const restarts = pod?.status?.containerStatuses?.find((c) => c.name === container)?.restartCount ?? 0;
    return (await this.#readLog(podName, container, restarts, lines, Number.POSITIVE_INFINITY)).join('\n');
  }


  async update(principal: Principal, servername: string, body: unknown): Promise<ServiceRecord> {
    const found = await this.#find(principal.credential, servername);
    if (!found) throw notFoundError();
    const cfg = this.#deps.config();
    const record = found.record;
    const log = this.#deps.logger.child({ uuidcode: servername, credential: principal.credential, action: 'update' });
    const extra = (body && typeof body === 'object' && !Array.isArray(body) ? (body as { user_options?: unknown }).user_options : undefined) ?? {};
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw invalidInput('user_options must be an object');
    const userOptions = { ...record.user_options, ...(extra as Record<string, unknown>) };
    const service = String(record.user_options.service ?? '');
    const req: StartRequest = {
      servername, startId: record.start_id, service, userOptions, userId: record.jhub_user_id, env: {}, statusUrl: '', apiToken: '', certs: undefined,
    };
    const prepared = await this.#prepare(cfg, principal.credential, req, log, 'update', userOptions);
    const owner = ownerRefTo(found.anchor);
    try {
      for (const obj of prepared.objects as KubeObject[]) await this.#deps.gateway.apply(attachOwner(obj, owner));
    } catch (err) {
      throw failedError(cfg.error_messages.update ?? 'Could not update service.', (err as Error).message, err);
    }
    // Objects the update added are removed with the service, too.
    const known = new Set(record.objects ?? []);
    const added = (prepared.objects as KubeObject[]).map(objectRef).filter((r) => !known.has(r));
    if (added.length) {
      // Read-modify-write of the record only: the lifecycle annotations stay as other writers left them.
      const updated = { ...record, objects: [...known, ...added] };
      await this.#deps.gateway.update<KubeObject>(found.anchor, (current) =>
        current && current.metadata.uid === found.anchor.metadata.uid ? { ...current, data: { ...(current.data as object), record: JSON.stringify(updated) } } : undefined,
      );
    }
    log.info('service updated');
    return record;
  }

  async stop(principal: Principal, servername: string): Promise<void> {
    const log = this.#deps.logger.child({ uuidcode: servername, credential: principal.credential, action: 'stop' });
    const found = await this.#find(principal.credential, servername);
    if (!found) {
      if (validServername(servername)) await this.#leaveStopMarker(principal.credential, servername, log);
      throw notFoundError();
    }
    try {
      await this.#removeStart(found, log);
      log.info('service stopped');
      this.#deps.observer?.stopped?.(found.record);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'stop failed');
      if (isDomainError(err)) throw err;
      const cfg = this.#deps.config();
      throw failedError(cfg.error_messages.stop ?? 'Could not stop service.', (err as Error).message, err);
    }
  }

  /** A stop found nothing: a start of this servername may still be on its way; leave a marker it will meet. */
  async #leaveStopMarker(credential: string, servername: string, log: AppLogger): Promise<void> {
    const marker = buildStopMarker(this.#deps.env.deploymentName, this.#ns, credential, servername, new Date(this.#now()).toISOString());
    const result = await this.#deps.gateway.create(marker).catch((err: unknown) => {
      log.warning({ err: (err as Error).message }, 'could not leave a stop marker');
      return undefined;
    });
    if (result && !result.created) {
      // A start created its anchor meanwhile: stop that one.
      const current = await this.#deps.gateway.read<KubeObject>(marker);
      const record = current && !isStopMarker(current) ? readRecord(current) : undefined;
      if (current && record && record.jhub_credential === credential) await this.#removeStart({ record, anchor: current }, log);
    }
  }
}

function withoutHints(verdict: Verdict): PollAnswer {
  const { needsLogTail: _unused, ...answer } = verdict;
  return answer;
}

/** Template problems as domain errors; the admin's message for a missing service when configured. */
function templateToDomain(err: unknown, cfg: Config): unknown {
  if (!isTemplateError(err)) return err;
  switch (err.code) {
    case 'bad_service':
      return new DomainError('template_bad_service', err.message, { detail: err.message });
    case 'not_found':
    case 'no_update': {
      const userMessage = err.code === 'not_found' && err.message.startsWith("Couldn't find") ? (cfg.error_messages.template_not_found ?? err.message) : err.message;
      return new DomainError('template_not_found', userMessage, { detail: err.message });
    }
    default:
      return new DomainError('template_invalid', err.message, { detail: err.message });
  }
}
