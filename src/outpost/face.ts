// The JupyterHub Outpost API as a second face of the services engine: an
// unmodified OutpostSpawner starts, polls and stops through it. It maps the
// Outpost's words onto the engine's (identity.ts, request.ts, address.ts) and
// the engine's answers back; the start, its lifecycle, flavors, progress
// events, replicas and clean-up are the engine's, the same as for the seed API.
import type { Principal } from '../auth/types.js';
import type { Config } from '../config/schema.js';
import { DomainError, notFoundError } from '../errors.js';
import type { AppLogger } from '../logging/logger.js';
import type { CachedService } from '../services/cache.js';
import { lifecycleOf } from '../services/lifecycle.js';
import { unescapeHtml } from '../status/interpret.js';
import type { LaunchHooks, Outcome, ServiceManager } from '../services/manager.js';
import type { StartRequest } from '../services/request.js';
import type { ServiceRecord } from '../services/types.js';
import { serviceAddress } from './address.js';
import { outpostFlavorWords } from './wording.js';
import type { FlavorRefusal } from '../flavors/capacity.js';
import { engineIdentity } from './identity.js';
import { parseOutpostStart, type OutpostStart } from './request.js';
import { credentialSettings } from './settings.js';

/** What the face needs of the engine (ServiceManager fits). */
export type OutpostEngine = Pick<ServiceManager, 'launch' | 'lookup' | 'awaitOutcome' | 'answered' | 'verdictOf' | 'exitCodeOf' | 'logLines' | 'stop' | 'servicesOf'>;

/** A start's answer: the address (empty for an async start, which tells the hub later). */
export interface StartAnswer {
  async: boolean;
  service: string;
}

/** A poll's answer: null while starting or running, else the exit code. */
export interface PollAnswer {
  status: number | null;
  logs: string[];
}

/** A stop's answer: the logs read before the stop (when asked for). */
export interface StopAnswer {
  async: boolean;
  logs: string[];
}

/** One service as an Outpost lists it (`GET /services/`). */
export interface OutpostServiceView {
  name: string;
  start_id: string;
  start_date: string;
  end_date: string | null;
  jupyterhub: string;
  jupyterhub_userid: string;
  last_update: string;
  state_stored: boolean;
  start_pending: boolean;
  stop_pending: boolean;
}

/** The API of the Outpost face (the HTTP routes call it). */
export interface OutpostApi {
  start(principal: Principal, headers: Record<string, string | string[] | undefined>, body: unknown, signal?: AbortSignal): Promise<StartAnswer>;
  poll(principal: Principal, name: string, startId: string, opts: { collectLogs: boolean }): Promise<PollAnswer>;
  stop(principal: Principal, name: string, startId: string, opts: { collectLogs: boolean; async: boolean }): Promise<StopAnswer>;
  list(principal: Principal): OutpostServiceView[];
}

export interface OutpostFaceDeps {
  engine: OutpostEngine;
  config: () => Config;
  /** Where services are created (a Service's namespace in its address). */
  namespace: string;
  logger: AppLogger;
  now?: () => number;
}

/** Past the ready timeout, how long a synchronous start may take to be answered before it counts as interrupted. */
const ANSWER_SLACK_MS = 5_000;

/** Failed starts: the words the hub shows, and the detail (events and log tail) as plain text beside them. */
const startFailed = (error: string, escapedDetail: string) => new DomainError('failed', error, { detail: unescapeHtml(escapedDetail) });

export class OutpostFace implements OutpostApi {
  readonly #d: OutpostFaceDeps;

  constructor(deps: OutpostFaceDeps) {
    this.#d = deps;
  }

  #now(): number {
    return this.#d.now?.() ?? Date.now();
  }

  #ids(name: string, startId: string) {
    return engineIdentity(name, startId, this.#d.config().services.deployment_main_name_prefix);
  }

  async start(principal: Principal, headers: Record<string, string | string[] | undefined>, body: unknown, signal?: AbortSignal): Promise<StartAnswer> {
    const cfg = this.#d.config();
    const start = parseOutpostStart(body, headers, credentialSettings(cfg.outpost, principal.credential));
    const readyMs = cfg.outpost.ready_timeout_seconds * 1000;
    const started = await this.#d.engine.launch(principal, this.#engineRequest(start), this.#hooks(start, readyMs)).catch((err: unknown) => {
      throw inOutpostWords(err);
    });
    if (start.async) return { async: true, service: '' };
    const outcome = await this.#d.engine.awaitOutcome(started, readyMs, signal);
    if (outcome.kind === 'running') {
      if (await this.#d.engine.answered(outcome.service)) return { async: false, service: outcome.service.record.outpost?.service ?? '' };
      // Ended between ready and the answer (a stop, a recorded failure): answer what it is now.
      const now = await this.#d.engine.lookup(principal.credential, started.record.servername);
      const verdict = now && now.anchor.metadata.uid === started.anchor.metadata.uid ? this.#d.engine.verdictOf(now.record, now.anchor) : undefined;
      throw await this.#failedStart(principal, started, now && verdict?.state === 'failed' ? { kind: 'failed', service: now, answer: verdict } : { kind: 'gone' }, cfg.outpost.ready_timeout_seconds);
    }
    throw await this.#failedStart(principal, started, outcome, cfg.outpost.ready_timeout_seconds);
  }

  #engineRequest(start: OutpostStart): StartRequest {
    const ids = this.#ids(start.name, start.startId);
    return {
      servername: ids.servername,
      startId: ids.startId,
      service: start.service,
      // The record keeps the hub's options and the template they chose (the operators' page shows it).
      userOptions: { ...start.userOptions, service: start.service },
      userId: start.userId,
      env: start.env,
      statusUrl: start.env.JUPYTERHUB_EVENTS_URL ?? '',
      apiToken: start.env.JUPYTERHUB_API_TOKEN ?? '',
      certs: start.certs,
      trustBundles: start.trustBundles,
      keywords: start.keywords,
      outpost: { name: start.name, start_id: start.startId, user: start.user, async: start.async },
      ...(start.authentication ? { authentication: start.authentication } : {}),
    };
  }

  #hooks(start: OutpostStart, readyMs: number): LaunchHooks {
    return {
      // A synchronous start is the hub's only once it is answered: if this process dies first, the start is removed.
      ...(start.async ? {} : { answerWithinMs: readyMs + ANSWER_SLACK_MS }),
      beforeCreate: (objects, record) => {
        const service = serviceAddress(objects, { namespace: this.#d.namespace, port: start.port, dnsNameTemplate: start.dnsNameTemplate });
        if (record.outpost) record.outpost.service = service;
      },
    };
  }

  /** A synchronous start that did not become ready: removed at once, and the cause for the hub to show. */
  async #failedStart(principal: Principal, started: CachedService, outcome: Exclude<Outcome, { kind: 'running' }>, timeoutSeconds: number): Promise<DomainError> {
    const { servername } = started.record;
    const log = this.#d.logger.child({ uuidcode: servername, credential: principal.credential, action: 'start', api: 'outpost' });
    let error: DomainError;
    switch (outcome.kind) {
      case 'failed':
        error = startFailed(outcome.answer.details.error || 'The service failed to start', outcome.answer.details.detailed_error);
        break;
      case 'timeout': {
        const where = outcome.answer.details.error ? ` (${outcome.answer.details.error})` : '';
        error = startFailed(`The service was not ready within ${timeoutSeconds} s${where}`, outcome.answer.details.detailed_error);
        break;
      }
      case 'aborted':
        error = startFailed('The hub stopped waiting for the start', '');
        break;
      case 'gone':
        return startFailed('The service was stopped while it was starting.', '');
    }
    log.warning({ outcome: outcome.kind, error: error.userMessage }, 'synchronous start did not become ready: removing it');
    await this.#d.engine.stop(principal, servername).catch((err: unknown) => {
      // Gone meanwhile (a stop of the hub's) is fine; anything else the sweeper and the GC finish.
      if (!(err instanceof DomainError && err.code === 'not_found')) log.warning({ err: (err as Error).message }, 'could not remove the failed start now');
    });
    return error;
  }

  /**
   * The start the hub means (its name and start_id in full), `other` when the
   * engine's servername holds something else (a start of the seed API that
   * chose such a name), or undefined when there is none.
   */
  async #find(principal: Principal, name: string, startId: string): Promise<CachedService | 'other' | undefined> {
    const { servername } = this.#ids(name, startId);
    const found = await this.#d.engine.lookup(principal.credential, servername);
    if (!found) return undefined;
    return found.record.outpost?.name === name && found.record.outpost.start_id === startId ? found : 'other';
  }

  async poll(principal: Principal, name: string, startId: string, opts: { collectLogs: boolean }): Promise<PollAnswer> {
    const found = await this.#find(principal, name, startId);
    if (!found || found === 'other' || this.#ended(found)) throw notFoundError();
    const cfg = this.#d.config().outpost;
    const logs = opts.collectLogs ? await this.#d.engine.logLines(found, cfg.log_lines, cfg.log_max_age_seconds * 1000) : [];
    const verdict = this.#d.engine.verdictOf(found.record, found.anchor);
    if (verdict.state !== 'failed') return { status: null, logs };
    // A failure without an exit code (image pull, unschedulable, interrupted) is still an end for the hub.
    return { status: this.#d.engine.exitCodeOf(found) ?? 1, logs };
  }

  /** Stopping, or past its runtime: an Outpost has no such service any more (the hub reads 404 as stopped). */
  #ended(service: CachedService): boolean {
    const lc = lifecycleOf(service.anchor);
    return lc.deleting || (lc.stopAt !== undefined && this.#now() >= lc.stopAt);
  }

  async stop(principal: Principal, name: string, startId: string, opts: { collectLogs: boolean; async: boolean }): Promise<StopAnswer> {
    const found = await this.#find(principal, name, startId);
    if (found === 'other') throw notFoundError();
    const cfg = this.#d.config().outpost;
    const logs = found && opts.collectLogs ? await this.#d.engine.logLines(found, cfg.log_lines, 0).catch(() => []) : [];
    // Unknown: the engine leaves a stop marker, so that this start, if still on its way, gives up; then 404.
    await this.#d.engine.stop(principal, this.#ids(name, startId).servername);
    return { async: opts.async, logs };
  }

  list(principal: Principal): OutpostServiceView[] {
    return this.#d.engine.servicesOf(principal.credential).flatMap((s) => (s.record.outpost ? [listView(s.record, s.anchor)] : []));
  }
}

/** A flavor refusal in a JupyterHub Outpost's sentences (the hub shows them); other errors as they are. */
function inOutpostWords(err: unknown): unknown {
  const refusal = err instanceof DomainError ? (err.facts.flavorRefusal as FlavorRefusal | undefined) : undefined;
  if (!refusal || !(err instanceof DomainError)) return err;
  return new DomainError(err.code, outpostFlavorWords(refusal), { detail: err.detail, facts: err.facts, cause: err });
}

function listView(record: ServiceRecord & { outpost?: NonNullable<ServiceRecord['outpost']> }, anchor: CachedService['anchor']): OutpostServiceView {
  const lc = lifecycleOf(anchor);
  const origin = record.outpost as NonNullable<ServiceRecord['outpost']>;
  return {
    name: origin.name,
    start_id: origin.start_id,
    start_date: record.start_date,
    end_date: lc.stopAt !== undefined ? new Date(lc.stopAt).toISOString() : null,
    jupyterhub: record.jhub_credential,
    jupyterhub_userid: String(record.jhub_user_id),
    last_update: String(anchor.metadata.creationTimestamp ?? record.start_date),
    state_stored: lc.phase === 'created',
    start_pending: lc.phase === 'creating',
    stop_pending: record.stop_pending,
  };
}
