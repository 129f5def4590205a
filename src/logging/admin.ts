// LogAdmin: the /api/logs/ API over the logging ConfigMap and the LogHub. Every
// replica watches the ConfigMap and rebuilds its handlers from it whenever it
// changes, so a change through one replica reaches all and survives restarts.
// A handler that cannot be built is reported (API answer, status()) and the
// others keep running; such a handler is tried again every `retryFailedMs`.
import type { KubeGateway } from '../kube/gateway.js';
import { Reflector } from '../kube/reflector.js';
import { invalidInput as badRequest, isDomainError, notFoundError as notFound, unavailableError } from '../errors.js';
import { LoggingConfigStore, LOGGING_SELECTOR, parseConfigMap, type ConfigMapObject } from './config-store.js';
import { handlerFactory, type HandlerFactory } from './factory.js';
import {
  DEFAULT_HANDLERS,
  HANDLER_TYPES,
  isHandlerType,
  merge,
  validate,
  withDefaults,
  type HandlerConfig,
  type HandlerConfigs,
  type HandlerType,
} from './handler-config.js';
import type { LogHub } from './hub.js';
import { LEVELS, type LevelName } from './levels.js';
import type { AppLogger } from './logger.js';

export interface LogAdminOptions {
  gateway: KubeGateway;
  namespace: string;
  /** ConfigMap name, e.g. `<DEPLOYMENT_NAME>-logging`. */
  name: string;
  hub: LogHub;
  logger: AppLogger;
  /** Handlers while no ConfigMap exists (default: stream to stdout, simple, level 20). */
  defaults?: HandlerConfigs;
  factory?: HandlerFactory;
  retryFailedMs?: number;
  watchTimeoutSeconds?: number;
}

/** The API of /api/logs/ (the HTTP routes call it). Errors are DomainErrors. */
export interface LogAdminApi {
  list(): Record<string, unknown>;
  get(type: string): Record<string, unknown>;
  /** The new handler's answer (the route answers 201). */
  create(body: unknown): Promise<Record<string, unknown>>;
  replace(type: string, configuration: unknown): Promise<Record<string, unknown>>;
  patch(type: string, configuration: unknown): Promise<Record<string, unknown>>;
  remove(type: string): Promise<void>;
  logtest(): void;
}

export interface HandlerStatus {
  active: boolean;
  error?: string;
  stats?: Readonly<Record<string, unknown>>;
}

interface Installed {
  key: string;
  status: HandlerStatus;
  /** Built from a valid configuration but failed (worth another try later). */
  retry: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class LogAdmin implements LogAdminApi {
  readonly #opts: LogAdminOptions;
  readonly #store: LoggingConfigStore;
  readonly #factory: HandlerFactory;
  readonly #defaults: HandlerConfigs;
  readonly #reflector: Reflector<ConfigMapObject>;
  #current: HandlerConfigs = {};
  #installed = new Map<HandlerType, Installed>();
  #chain: Promise<void> = Promise.resolve();
  #appliedVersion: number | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #synced: Promise<void> | undefined;
  #source: 'defaults' | 'configmap' = 'defaults';

  constructor(opts: LogAdminOptions) {
    this.#opts = opts;
    this.#store = new LoggingConfigStore(opts.gateway, opts.namespace, opts.name);
    this.#factory = opts.factory ?? handlerFactory();
    this.#defaults = structuredClone(opts.defaults ?? DEFAULT_HANDLERS);
    const mine = (obj: ConfigMapObject) => obj.metadata.name === opts.name;
    this.#reflector = new Reflector<ConfigMapObject>(
      opts.gateway,
      { name: 'logging ConfigMap', apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: opts.namespace, labelSelector: LOGGING_SELECTOR, watchTimeoutSeconds: opts.watchTimeoutSeconds },
      {
        onUpsert: (obj) => {
          if (mine(obj)) void this.#enqueue(obj, false);
        },
        onDelete: (obj) => {
          if (mine(obj)) void this.#enqueue(undefined, false);
        },
        onResync: () => {
          if (!this.#reflector.get(opts.name)) void this.#enqueue(undefined, false);
        },
      },
    );
  }

  /** Installs the defaults if the hub has nothing yet, then starts watching the ConfigMap. */
  async start(): Promise<void> {
    if (this.#opts.hub.types().length === 0) await this.#enqueue(undefined, false);
    this.#synced = this.#reflector.waitForSync().then(() => this.#chain);
    this.#reflector.start();
    const every = this.#opts.retryFailedMs ?? 60_000;
    this.#retryTimer = setInterval(() => void this.#retryFailed(), every);
    this.#retryTimer.unref();
  }

  /** Resolves once the ConfigMap (or its absence) has been read and applied. */
  async waitForSync(): Promise<void> {
    if (!this.#synced) throw new Error('LogAdmin.waitForSync() before start()');
    await this.#synced;
    await this.#chain;
  }

  stop(): void {
    this.#reflector.stop();
    clearInterval(this.#retryTimer);
  }

  /** For readiness and /api/logs/handler/ answers: per handler, whether it runs. */
  status(): { synced: boolean; source: 'defaults' | 'configmap'; handlers: Partial<Record<HandlerType, HandlerStatus>> } {
    const handlers: Partial<Record<HandlerType, HandlerStatus>> = {};
    for (const [type, installed] of this.#installed) handlers[type] = this.#statusOf(type, installed);
    return { synced: this.#reflector.status.synced, source: this.#source, handlers };
  }

  // ------------------------------------------------------------------ LogAdminApi

  list(): Record<string, unknown> {
    return structuredClone(this.#current);
  }

  get(type: string): Record<string, unknown> {
    if (!isHandlerType(type) || !this.#current[type]) throw notFound();
    return this.#answer(type);
  }

  async create(body: unknown): Promise<Record<string, unknown>> {
    if (!isObject(body)) throw badRequest('Input data must be of type dict');
    if (!('handler' in body)) throw badRequest('Missing key in input data: handler');
    const type = body.handler;
    if (typeof type !== 'string') throw badRequest('handler in input data must be of type str');
    if (!isHandlerType(type)) throw badRequest(`Unsupported handler: ${type}. Supported handlers: ${HANDLER_TYPES.join(', ')}`);
    const checked = withDefaults(type, body.configuration);
    if (!checked.ok) throw badRequest(...checked.errors);
    await this.#write((current) => {
      if (current[type]) throw badRequest(`Handler ${type} already exists. Use PUT or PATCH /api/logs/handler/${type}/ to change it.`);
      return { ...current, [type]: checked.config };
    });
    return this.#answer(type);
  }

  async replace(type: string, body: unknown): Promise<Record<string, unknown>> {
    const handlerType = this.#known(type);
    const checked = withDefaults(handlerType, configurationOf(handlerType, body));
    if (!checked.ok) throw badRequest(...checked.errors);
    await this.#write((current) => {
      if (!current[handlerType]) throw notFound();
      return { ...current, [handlerType]: checked.config };
    });
    return this.#answer(handlerType);
  }

  async patch(type: string, body: unknown): Promise<Record<string, unknown>> {
    const handlerType = this.#known(type);
    const partial = configurationOf(handlerType, body);
    if (!isObject(partial)) throw badRequest('configuration must be of type dict');
    await this.#write((current) => {
      const existing = current[handlerType];
      if (!existing) throw notFound();
      const checked = validate(handlerType, merge(existing, partial));
      if (!checked.ok) throw badRequest(...checked.errors);
      return { ...current, [handlerType]: checked.config };
    });
    return this.#answer(handlerType);
  }

  async remove(type: string): Promise<void> {
    const handlerType = this.#known(type);
    await this.#write((current) => {
      if (!current[handlerType]) throw notFound();
      const next = { ...current };
      delete next[handlerType];
      return next;
    });
  }

  logtest(): void {
    const log = this.#opts.logger;
    for (const name of Object.keys(LEVELS) as LevelName[]) log[name]({ logtest: true }, `Logtest: ${name.toUpperCase()}`);
  }

  // ------------------------------------------------------------------ internals

  #known(type: string): HandlerType {
    if (!isHandlerType(type)) throw notFound();
    return type;
  }

  #answer(type: HandlerType): Record<string, unknown> {
    const installed = this.#installed.get(type);
    const status = installed ? this.#statusOf(type, installed) : { active: false, error: 'not built yet' };
    return { handler: type, configuration: structuredClone(this.#current[type] ?? {}), ...status };
  }

  #statusOf(type: HandlerType, installed: Installed): HandlerStatus {
    const stats = this.#opts.hub.handler(type)?.stats;
    return stats && installed.status.active ? { ...installed.status, stats: { ...stats } } : { ...installed.status };
  }

  /** Writes through the store, then applies what was written here at once (the watch confirms it later). */
  async #write(change: (current: HandlerConfigs) => HandlerConfigs): Promise<void> {
    let written: ConfigMapObject;
    try {
      written = await this.#store.update(this.#defaults, change);
    } catch (err) {
      if (isDomainError(err)) throw err;
      this.#opts.logger.error({ err }, 'could not write the logging configuration');
      throw unavailableError('Could not store the logging configuration.', (err as Error).message);
    }
    await this.#enqueue(written, true);
  }

  #enqueue(obj: ConfigMapObject | undefined, force: boolean): Promise<void> {
    const next = this.#chain.then(() => this.#apply(obj, force));
    this.#chain = next.catch(() => {});
    return next;
  }

  async #apply(obj: ConfigMapObject | undefined, force: boolean): Promise<void> {
    let desired: HandlerConfigs;
    let invalid: Partial<Record<HandlerType, string>> = {};
    if (obj) {
      const version = Number(obj.metadata.resourceVersion);
      // A watch event older than what this replica itself just wrote: skip it.
      if (!force && Number.isFinite(version) && this.#appliedVersion !== undefined && version < this.#appliedVersion) return;
      if (Number.isFinite(version)) this.#appliedVersion = version;
      ({ configs: desired, invalid } = parseConfigMap(obj));
      this.#source = 'configmap';
    } else {
      desired = structuredClone(this.#defaults);
      this.#appliedVersion = undefined;
      this.#source = 'defaults';
    }
    this.#current = desired;
    const hub = this.#opts.hub;
    for (const type of HANDLER_TYPES) {
      const config = desired[type];
      const problem = invalid[type];
      if (!config) {
        if (hub.handler(type)) await hub.remove(type);
        if (problem) this.#installed.set(type, { key: '', status: { active: false, error: problem }, retry: false });
        else this.#installed.delete(type);
        continue;
      }
      const key = JSON.stringify(config);
      if (this.#installed.get(type)?.key === key) continue;
      await this.#build(type, config, key);
    }
  }

  async #build(type: HandlerType, config: HandlerConfig, key: string): Promise<void> {
    const hub = this.#opts.hub;
    try {
      const handler = await this.#factory(type, config);
      await hub.set(handler);
      this.#installed.set(type, { key, status: { active: true }, retry: false });
      this.#opts.logger.info({ handler: type, configuration: config }, 'log handler configured');
    } catch (err) {
      await hub.remove(type);
      const error = (err as Error).message ?? String(err);
      this.#installed.set(type, { key, status: { active: false, error }, retry: true });
      this.#opts.logger.error({ handler: type, error }, 'log handler could not be built; the other handlers keep running');
    }
  }

  #retryFailed(): Promise<void> {
    const next = this.#chain.then(async () => {
      for (const [type, installed] of this.#installed) {
        const config = this.#current[type];
        if (installed.retry && config && installed.key === JSON.stringify(config)) await this.#build(type, config, installed.key);
      }
    });
    this.#chain = next.catch(() => {});
    return this.#chain;
  }
}

/** PUT/PATCH accept `{"handler": t, "configuration": {...}}` (as POST) or the bare configuration. */
function configurationOf(type: HandlerType, body: unknown): unknown {
  if (isObject(body) && 'configuration' in body) {
    if ('handler' in body && body.handler !== type) throw badRequest(`handler in input data must be ${type} (as in the URL)`);
    return body.configuration;
  }
  return body ?? {};
}
