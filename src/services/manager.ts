// Start, poll, update and stop of user services: steps over templates/ (pure
// rendering) and kube/ (the gateway), with the watch caches answering polls.
import type { Principal } from '../auth/types.js';
import type { Config } from '../config/schema.js';
import type { ManagerEnv } from '../config/env.js';
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import type { AppLogger } from '../logging/logger.js';
import { badRequest, conflict, failure, HttpError, notFound } from '../http/errors.js';
import type { ServiceApi } from '../http/routes/services.js';
import { interpret, mainPod, type Verdict } from '../status/interpret.js';
import { buildCertsSecret, buildEnvSecret, isTemplateError, TEMPLATE_ERROR_STATUS, type PreparedService } from '../templates/index.js';
import { writeRenderedCopy } from '../templates/files.js';
import { prepareService } from './prepare.js';
import { buildAnchor, objectRef, objectRefs, ownerRefTo, readRecord } from './anchor.js';
import type { ServiceCache } from './cache.js';
import { parseStartRequest, validServername, type StartRequest } from './request.js';
import type { PollAnswer, ServiceRecord, ServiceState } from './types.js';
import { ensureUserhome } from './userhome.js';

export interface ServiceManagerDeps {
  config: () => Config;
  env: ManagerEnv;
  gateway: KubeGateway;
  cache: ServiceCache;
  logger: AppLogger;
  /** Told about starts and their outcome (metrics, progress events). */
  observer?: ServiceObserver;
  /** Values that must never appear in a log line (the logger masks them). */
  secrets?: { add(values: Iterable<unknown>): void };
}

export interface ServiceObserver {
  started?(record: ServiceRecord, request: StartRequest): void;
  startFailed?(servername: string, reason: string): void;
  stopped?(record: ServiceRecord): void;
}

/** Log tails read once per failed container (pod name + restart count). */
const LOG_TAIL_CACHE_MAX = 5000;

export class ServiceManager implements ServiceApi {
  readonly #deps: ServiceManagerDeps;
  /** Anchors this process created that the watch may not have delivered yet. */
  readonly #justCreated = new Map<string, { record: ServiceRecord; anchor: KubeObject; at: number }>();
  readonly #stopping = new Set<string>();
  readonly #logTails = new Map<string, string>();

  constructor(deps: ServiceManagerDeps) {
    this.#deps = deps;
  }

  get #ns(): string {
    return this.#deps.env.serviceNamespace;
  }

  #lookup(credential: string, servername: string): { record: ServiceRecord; anchor: KubeObject } | undefined {
    const cached = this.#deps.cache.find(credential, servername);
    const key = `${credential}\0${servername}`;
    const fresh = this.#justCreated.get(key);
    if (fresh && (!cached || cached.anchor.metadata.uid !== fresh.anchor.metadata.uid)) {
      // Keep the local copy until the watch has it, at most a minute.
      if (Date.now() - fresh.at < 60_000) return fresh;
      this.#justCreated.delete(key);
    } else if (fresh) {
      this.#justCreated.delete(key);
    }
    return cached;
  }

  list(principal: Principal): ServiceRecord[] {
    return this.#deps.cache.byCredential(principal.credential).map((s) => s.record);
  }

  async start(principal: Principal, headers: Record<string, string | string[] | undefined>, body: unknown): Promise<ServiceRecord> {
    const cfg = this.#deps.config();
    const parsed = parseStartRequest(headers, body, cfg.services);
    if (Array.isArray(parsed)) throw badRequest(...parsed);
    const req = parsed;
    this.#deps.secrets?.add([...Object.values(req.env), ...(req.certs ? Object.values(req.certs) : [])]);
    const credential = principal.credential;
    const log = this.#deps.logger.child({ uuidcode: req.servername, credential, action: 'start', start_id: req.startId });

    const existing = this.#lookup(credential, req.servername);
    if (existing && existing.record.start_id === req.startId && !existing.record.stop_pending) {
      log.info('start repeated with the same start_id: answering with the existing service');
      return existing.record;
    }

    // Render first: a bad template or user option changes nothing in the cluster.
    const prepared = await this.#prepare(cfg, credential, req, log);
    if (existing) {
      log.info({ previous_start_id: existing.record.start_id }, 'replacing the previous start of this servername');
      await this.#removeAll(existing.record, existing.anchor);
    }

    const record: ServiceRecord = {
      servername: req.servername,
      start_id: req.startId,
      user_options: req.userOptions,
      jhub_user_id: req.userId,
      jhub_credential: credential,
      start_date: new Date().toISOString(),
      stop_pending: false,
      namespace: this.#ns,
      objects: [],
    };
    const envSecret = buildEnvSecret({
      name: prepared.names.envSecret, namespace: this.#ns, labels: prepared.labels,
      env: req.env, extraEnv: cfg.services.env, skip: cfg.services.env_skip, servername: req.servername, id: prepared.id,
    });
    const certsSecret = cfg.services.ssl.enabled && req.certs
      ? buildCertsSecret({ name: prepared.names.certsSecret, namespace: this.#ns, labels: prepared.labels, certs: req.certs })
      : undefined;
    const objects = [envSecret, ...(certsSecret ? [certsSecret] : []), ...(prepared.objects as KubeObject[])];
    record.objects = objects.map(objectRef);

    const anchor = await this.#createAnchor(record, log);
    if ('existing' in anchor) return anchor.existing;
    const owner = ownerRefTo(anchor.created);
    const key = `${credential}\0${req.servername}`;
    this.#justCreated.set(key, { record, anchor: anchor.created, at: Date.now() });

    try {
      for (const obj of objects) {
        obj.metadata.ownerReferences = [owner];
        await this.#deps.gateway.apply(obj as KubeObject);
      }
      await ensureUserhome(cfg, { credential, service: req.service.split('/')[0] ?? req.service, userId: req.userId });
    } catch (err) {
      const message = (err as Error).message;
      log.error({ err: message }, 'start failed: removing what was created');
      this.#justCreated.delete(key);
      await this.#removeAll(record, anchor.created).catch((cleanupErr: unknown) =>
        log.error({ err: (cleanupErr as Error).message }, 'cleanup after a failed start failed; the garbage collector will finish it'),
      );
      this.#deps.observer?.startFailed?.(req.servername, message);
      throw failure(500, cfg.error_messages.start ?? 'Could not start service.', message);
    }

    await writeRenderedCopy(cfg.services.base, prepared.id, prepared.files).catch((err: unknown) =>
      log.warning({ err: (err as Error).message }, 'could not keep the rendered copy under services.base'),
    );
    log.info({ objects: record.objects.length }, 'service started');
    this.#deps.observer?.started?.(record, req);
    return record;
  }

  async #prepare(cfg: Config, credential: string, req: StartRequest, log: AppLogger, which: 'start' | 'update' = 'start', userOptions = req.userOptions): Promise<PreparedService> {
    try {
      return await prepareService(cfg, this.#deps.env, {
        credential, servername: req.servername, startId: req.startId, service: req.service, userId: req.userId, userOptions,
      }, which);
    } catch (err) {
      if (!isTemplateError(err)) throw err;
      log.warning({ code: err.code, err: err.message }, 'template refused');
      const status = TEMPLATE_ERROR_STATUS[err.code];
      const userMessage = err.code === 'not_found' && err.message.startsWith("Couldn't find")
        ? (cfg.error_messages.template_not_found ?? err.message)
        : err.message;
      throw failure(status, userMessage, err.message);
    }
  }

  /** Creates the anchor; when another request won the race, answers as the winner did. */
  async #createAnchor(record: ServiceRecord, log: AppLogger): Promise<{ created: KubeObject } | { existing: ServiceRecord }> {
    const anchor = buildAnchor(this.#deps.env.deploymentName, this.#ns, record);
    for (let attempt = 0; attempt < 20; attempt++) {
      const result = await this.#deps.gateway.create(anchor);
      if (result.created) return { created: result.object };
      const current = await this.#deps.gateway.read<KubeObject>(anchor);
      if (!current) continue; // deleted meanwhile: try again
      const other = readRecord(current);
      if (other && other.start_id === record.start_id && !other.stop_pending) return { existing: other };
      if (current.metadata.deletionTimestamp) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      log.warning({ other_start_id: other?.start_id }, 'a concurrent start of this servername won');
      throw conflict(`Another start of ${record.servername} is in progress.`);
    }
    throw failure(503, 'Could not start service.', 'the previous service of this servername is still being removed');
  }

  /** Deletes every object of a start, then its anchor (whose GC catches the rest). */
  async #removeAll(record: ServiceRecord, anchor: KubeObject): Promise<void> {
    const refs = objectRefs(record, this.#ns);
    await Promise.all(refs.map((ref) => this.#deps.gateway.delete(ref)));
    await this.#deps.gateway.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: anchor.metadata.name, namespace: this.#ns, uid: anchor.metadata.uid } });
  }

  #policy(cfg: Config) {
    return {
      mainContainer: cfg.services.container_main_name,
      failingEventTypes: cfg.services.pod_events_to_fail,
      eventsShown: cfg.services.status_information.pod_events_no,
    };
  }

  /** The verdict from the caches alone (no log tail): for polls, metrics and progress. */
  verdictOf(record: ServiceRecord, anchor: KubeObject): Verdict {
    const stopPending = record.stop_pending || this.#stopping.has(`${record.jhub_credential}\0${record.servername}`);
    const pods = this.#deps.cache.podsOf(anchor.metadata.name);
    const policy = this.#policy(this.#deps.config());
    // Events matter only for the main pod, the one interpret() judges.
    const main = mainPod(pods, policy.mainContainer);
    const events = main ? this.#deps.cache.eventsOf(main.metadata.name) : [];
    return interpret({ stopPending, pods, events }, policy);
  }

  /** Services by state, for the metrics. */
  countByState(): Record<ServiceState, number> {
    const counts: Record<ServiceState, number> = { starting: 0, running: 0, failed: 0, stopping: 0 };
    for (const { record, anchor } of this.#deps.cache.all()) counts[this.verdictOf(record, anchor).state]++;
    return counts;
  }

  async poll(principal: Principal, servername: string): Promise<PollAnswer> {
    const found = validServername(servername) ? this.#lookup(principal.credential, servername) : undefined;
    if (!found) throw notFound();
    const cfg = this.#deps.config();
    const pods = this.#deps.cache.podsOf(found.anchor.metadata.name);
    let verdict: Verdict = this.verdictOf(found.record, found.anchor);
    if (verdict.needsLogTail) {
      const logTail = await this.#logTail(verdict.needsLogTail.pod, verdict.needsLogTail.container, pods, cfg.services.status_information.container_logs_lines);
      const stopPending = found.record.stop_pending;
      const events = this.#deps.cache.eventsOf(verdict.needsLogTail.pod);
      verdict = interpret({ stopPending, pods, events, logTail }, this.#policy(cfg));
    }
    const { needsLogTail: _unused, ...answer } = verdict;
    return answer;
  }

  /** Reads a failed container's log tail once and keeps it: the only API call a poll can make. */
  async #logTail(podName: string, container: string, pods: KubeObject[], lines: number): Promise<string> {
    const pod = pods.find((p) => p.metadata.name === podName) as { status?: { containerStatuses?: Array<{ name: string; restartCount?: number }> } } | undefined;
    const restarts = pod?.status?.containerStatuses?.find((c) => c.name === container)?.restartCount ?? 0;
    const key = `${podName}/${container}/${restarts}`;
    const cached = this.#logTails.get(key);
    if (cached !== undefined) return cached;
    const tail = await this.#deps.gateway.podLogTail(this.#ns, podName, container, lines);
    const trimmed = tail.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).slice(-lines).join('\n');
    if (this.#logTails.size >= LOG_TAIL_CACHE_MAX) this.#logTails.delete(this.#logTails.keys().next().value as string);
    this.#logTails.set(key, trimmed);
    return trimmed;
  }

  async update(principal: Principal, servername: string, body: unknown): Promise<ServiceRecord> {
    const found = validServername(servername) ? this.#lookup(principal.credential, servername) : undefined;
    if (!found) throw notFound();
    const cfg = this.#deps.config();
    const record = found.record;
    const log = this.#deps.logger.child({ uuidcode: servername, credential: principal.credential, action: 'update' });
    const extra = (body && typeof body === 'object' && !Array.isArray(body) ? (body as { user_options?: unknown }).user_options : undefined) ?? {};
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw badRequest('user_options must be an object');
    const userOptions = { ...record.user_options, ...(extra as Record<string, unknown>) };
    const service = String(record.user_options.service ?? '');
    const req: StartRequest = {
      servername, startId: record.start_id, service, userOptions, userId: record.jhub_user_id, env: {}, statusUrl: '', apiToken: '', certs: undefined,
    };
    const prepared = await this.#prepare(cfg, principal.credential, req, log, 'update', userOptions);
    const owner = ownerRefTo(found.anchor);
    try {
      for (const obj of prepared.objects as KubeObject[]) {
        obj.metadata.ownerReferences = [owner];
        await this.#deps.gateway.apply(obj);
      }
    } catch (err) {
      throw failure(500, cfg.error_messages.update ?? 'Could not update service.', (err as Error).message);
    }
    // Objects the update added are removed with the service, too.
    const known = new Set(record.objects ?? []);
    const added = (prepared.objects as KubeObject[]).map(objectRef).filter((r) => !known.has(r));
    if (added.length) {
      const updated = { ...record, objects: [...known, ...added] };
      await this.#deps.gateway.apply({ ...buildAnchor(this.#deps.env.deploymentName, this.#ns, updated) });
    }
    log.info('service updated');
    return record;
  }

  async stop(principal: Principal, servername: string): Promise<void> {
    const found = validServername(servername) ? this.#lookup(principal.credential, servername) : undefined;
    if (!found) throw notFound();
    const key = `${principal.credential}\0${servername}`;
    const log = this.#deps.logger.child({ uuidcode: servername, credential: principal.credential, action: 'stop' });
    this.#stopping.add(key);
    try {
      await this.#removeAll(found.record, found.anchor);
      this.#justCreated.delete(key);
      log.info('service stopped');
      this.#deps.observer?.stopped?.(found.record);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'stop failed');
      if (err instanceof HttpError) throw err;
      const cfg = this.#deps.config();
      throw failure(500, cfg.error_messages.stop ?? 'Could not stop service.', (err as Error).message);
    } finally {
      setTimeout(() => this.#stopping.delete(key), 30_000).unref();
    }
  }
}

