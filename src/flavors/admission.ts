// Admission of starts by flavor: which flavor, whether there is capacity
// (decided in the cluster, see store.ts), what the flavor changes in the
// start (template keywords, resources of the main container, the runtime
// deadline on the anchor), and the release when the start is over. Also the
// usage view of GET /api/flavors/, the metrics' figures and the usage pushes.
import type { Config } from '../config/schema.js';
import { DomainError, isDomainError, limitReached, unavailableError } from '../errors.js';
import type { AppLogger } from '../logging/logger.js';
import { serviceId, startNames } from '../templates/names.js';
import { agedKeys, decide, reservationKey, splitKey, usageOf, type RefusalReason, type Reservation } from './capacity.js';
import { anchorAnnotations, applyResources, flavorKeywords } from './objects.js';
import { PUSH_ENV_KEYS, pushTarget, type PushTarget, type UsagePusher } from './push.js';
import { effectiveFlavors, resolveFlavor, runtimeDeadline, type EffectiveFlavor, type UserRef } from './resolve.js';
import type { CredentialFlavors, Resources, Runtime } from './settings.js';
import { anchoredKey, type ReservationStore } from './store.js';

export interface AdmitRequest {
  credential: string;
  servername: string;
  startId: string;
  userId: number | string;
  userOptions: Record<string, unknown>;
  env: Record<string, string>;
  /** The user's identity for the credential's rules (OutpostSpawner's `authentication`). */
  authentication?: Readonly<Record<string, unknown>> | undefined;
}

export interface Admitted {
  /** Extra replacement keywords for the template (without indicators). */
  keywords: Record<string, string>;
  /** Applied to the parsed objects before they are created (e.g. resources on the main container). */
  patchObjects(objects: Array<Record<string, unknown>>): void;
  /** Annotations for the anchor, e.g. k8smgr.io/flavor, k8smgr.io/stop-at, k8smgr.io/stop-reason. */
  annotations: Record<string, string>;
}

export interface StartAdmission {
  /** Before anything of a start is created. Throws DomainError to refuse (creating nothing). */
  admit(req: AdmitRequest): Promise<Admitted>;
  /** The start is over (stopped, rolled back, replaced, cleaned up). Idempotent; must not throw. */
  release(start: { credential: string; servername: string; startId: string; env?: Record<string, string> }): Promise<void>;
}

/** One flavor as GET /api/flavors/ and the usage pushes show it. */
export interface FlavorView {
  display_name: string;
  description: string;
  weight: number;
  /** -1 unlimited, 0 closed. */
  max: number;
  max_per_user: number;
  /** 0: no runtime limit. */
  runtime_seconds: number;
  /** As configured (seconds or {days, hours, minutes, seconds}), when set. */
  runtime?: Runtime;
  resources?: Resources;
  /** false for a name the config does not define (admitted under undefined_max). */
  defined: boolean;
  /** Running (reserved) services of this flavor, all users. */
  current: number;
  /** The asked user's running services of this flavor. */
  user_current?: number;
}

export interface FlavorsView {
  credential: string;
  default: string | null;
  max_per_user: number;
  undefined_max: number;
  current: number;
  user?: { user_id: string; user_name?: string; current: number };
  flavors: Record<string, FlavorView>;
}

/** What GET /api/flavors/ needs (declared here, implemented by FlavorAdmission). */
export interface FlavorsApi {
  view(credential: string, user?: UserRef): FlavorsView;
  /** The Outpost API's GET /flavors/ (and with an identity, POST /userflavors). */
  outpostDocument(credential: string, authentication?: Readonly<Record<string, unknown>>): Record<string, OutpostFlavor>;
}

export interface FlavorGauge {
  credential: string;
  flavor: string;
  running: number;
  /** -1 unlimited. */
  limit: number;
}

/** The part of ReservationStore admission uses. */
export type BookStore = Pick<ReservationStore, 'start' | 'stop' | 'book' | 'credentials' | 'reserve' | 'release' | 'prune'>;

export interface FlavorAdmissionDeps {
  config: () => Config;
  store: BookStore;
  logger: AppLogger;
  pusher?: UsagePusher;
  /** The starts of a credential that have an anchor now (anchoredKey form); pruning asks before it removes. */
  anchoredStarts: (credential: string) => Promise<ReadonlySet<string>>;
  /** Cheap hint from a watch cache: true when this start surely has an anchor (no need to ask). */
  hasAnchor?: (credential: string, servername: string, startId: string) => boolean;
  /** A reservation without an anchor is pruned when older than this (a start creates its anchor right after admission). */
  graceMs?: number;
  /** How often books are checked for reservations whose start is gone. */
  sweepIntervalMs?: number;
  now?: () => Date;
  /** With replicas: the periodic sweep runs only while this returns true (the leader); pruning on a refusal runs anywhere. */
  leading?: () => boolean;
  /** A start refused for capacity (metrics). */
  onRejected?: (credential: string, flavor: string, reason: RefusalReason) => void;
  /** The environment (a credential's `push_token_env`). */
  lookupEnv?: (name: string) => string | undefined;
}

const NOTHING: Admitted = Object.freeze({ keywords: {}, patchObjects: () => {}, annotations: {} });

export class FlavorAdmission implements StartAdmission, FlavorsApi {
  readonly #deps: Required<Omit<FlavorAdmissionDeps, 'pusher' | 'hasAnchor' | 'onRejected' | 'leading' | 'lookupEnv'>> & Pick<FlavorAdmissionDeps, 'pusher' | 'hasAnchor' | 'onRejected' | 'leading' | 'lookupEnv'>;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: FlavorAdmissionDeps) {
    this.#deps = { graceMs: 60_000, sweepIntervalMs: 30_000, now: () => new Date(), ...deps };
  }

  #settings(credential: string): CredentialFlavors | undefined {
    return this.#deps.config().flavors?.[credential];
  }

  start(): void {
    this.#deps.store.start();
    this.#timer = setInterval(() => {
      if (this.#deps.leading?.() ?? true) void this.sweep();
    }, this.#deps.sweepIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#deps.store.stop();
    this.#deps.pusher?.close();
  }

  async admit(req: AdmitRequest): Promise<Admitted> {
    const settings = this.#settings(req.credential);
    if (!settings) return NOTHING;
    const user: UserRef = { id: String(req.userId), name: req.env.JUPYTERHUB_USER, authentication: req.authentication };
    const effective = effectiveFlavors(settings, user);
    const flavor = resolveFlavor(effective, req.userOptions, new Set(Object.keys(settings.flavors ?? {})));
    const log = this.#deps.logger.child({ uuidcode: req.servername, credential: req.credential, start_id: req.startId, flavor: flavor.name });
    const key = reservationKey(req.servername, req.startId);
    const reservation: Reservation = { flavor: flavor.name, user_id: user.id, at: this.#deps.now().toISOString() };
    const check = (book: Parameters<typeof decide>[0]) =>
      decide(book, { credential: req.credential, servername: req.servername, userId: user.id, flavor, userMax: effective.maxPerUser });
    let decision = await this.#reserve(req.credential, key, reservation, check);
    // Refused: perhaps by reservations of starts that are gone (a crash between
    // admission and anchor); prune those and ask once more.
    if (!decision.ok && (await this.#pruneDead(req.credential).catch(() => 0)) > 0) {
      decision = await this.#reserve(req.credential, key, reservation, check);
    }
    if (!decision.ok) {
      this.#deps.onRejected?.(req.credential, flavor.name, decision.reason);
      log.warning({ reason: decision.reason, detail: decision.detail }, 'start refused by flavor limits');
      throw limitReached(decision.message, decision.detail, { flavorRefusal: decision.refusal });
    }
    log.info({ runtime_seconds: flavor.runtimeSeconds }, 'flavor capacity reserved');
    const target = this.#pushTarget(req.credential, req.env);
    if (target) this.#push(req.credential, target);
    const cfg = this.#deps.config();
    const deployment = startNames({ id: serviceId(req.servername, req.startId), prefix: cfg.services.deployment_main_name_prefix }).mainDeployment;
    const container = cfg.services.container_main_name;
    return {
      keywords: flavorKeywords(flavor),
      annotations: anchorAnnotations(flavor, runtimeDeadline(flavor, this.#deps.now())),
      patchObjects: (objects) => patchResources(objects, flavor, deployment, container),
    };
  }

  async #reserve(credential: string, key: string, reservation: Reservation, check: Parameters<BookStore['reserve']>[3]) {
    try {
      return await this.#deps.store.reserve(credential, key, reservation, check);
    } catch (err) {
      if (isDomainError(err)) throw err;
      throw unavailableError('Could not check the capacity of this flavor, try again.', (err as Error).message);
    }
  }

  async release(start: { credential: string; servername: string; startId: string; env?: Record<string, string> }): Promise<void> {
    const key = reservationKey(start.servername, start.startId);
    try {
      // Without flavors for this credential and nothing in its book, there is nothing to release.
      if (!this.#settings(start.credential) && !this.#deps.store.credentials().includes(start.credential)) return;
      const removed = await this.#deps.store.release(start.credential, key);
      if (removed) this.#deps.logger.info({ uuidcode: start.servername, credential: start.credential, start_id: start.startId }, 'flavor capacity released');
      const target = this.#pushTarget(start.credential, start.env);
      if (target) this.#push(start.credential, target);
    } catch (err) {
      // Pruning removes it later (its anchor is gone by then).
      this.#deps.logger.warning({ uuidcode: start.servername, credential: start.credential, start_id: start.startId, err: (err as Error).message }, 'flavor capacity not released now; pruning will');
    }
  }

  /** A stop or sweep on any replica reads these from the start's env Secret, so its release pushes as the admitting one's would. */
  releaseEnvKeys(credential: string): readonly string[] {
    return this.#settings(credential) ? PUSH_ENV_KEYS : [];
  }

  #pushTarget(credential: string, env: Record<string, string> | undefined): PushTarget | undefined {
    const tokenEnv = this.#settings(credential)?.push_token_env;
    return pushTarget(env, tokenEnv ? this.#deps.lookupEnv?.(tokenEnv) : undefined);
  }

  /** The hub's view (no user rules), in a JupyterHub Outpost's shape: what the hub's flavor UI reads. */
  #push(credential: string, target: PushTarget): void {
    this.#deps.pusher?.push(target, () => this.outpostDocument(credential));
  }

  /**
   * The credential's flavors in a JupyterHub Outpost's shape (GET /flavors/, the usage
   * pushes; with `authentication`, POST /userflavors): flavor → its settings and
   * `current`, the running services of it over all users.
   */
  outpostDocument(credential: string, authentication?: Readonly<Record<string, unknown>>): Record<string, OutpostFlavor> {
    const settings = this.#settings(credential);
    if (!settings) return {};
    const effective = effectiveFlavors(settings, authentication ? { id: '', authentication } : undefined);
    const usage = usageOf(this.#deps.store.book(credential));
    const out: Record<string, OutpostFlavor> = {};
    for (const f of effective.flavors.values()) out[f.name] = outpostFlavor(f, usage.byFlavor.get(f.name) ?? 0);
    return out;
  }

  /** Removes reservations older than the grace time whose start has no anchor. */
  async #pruneDead(credential: string): Promise<number> {
    const book = this.#deps.store.book(credential);
    const aged = agedKeys(book, this.#deps.now().getTime(), this.#deps.graceMs).filter((key) => {
      const { servername, startId } = splitKey(key);
      return !this.#deps.hasAnchor?.(credential, servername, startId);
    });
    if (aged.length === 0) return 0;
    const anchored = await this.#deps.anchoredStarts(credential);
    const dead = new Map<string, string>();
    for (const key of aged) {
      const { servername, startId } = splitKey(key);
      if (!anchored.has(anchoredKey(servername, startId))) dead.set(key, (book.get(key) as Reservation).at);
    }
    if (dead.size === 0) return 0;
    const removed = await this.#deps.store.prune(credential, dead);
    if (removed) this.#deps.logger.info({ credential, keys: [...dead.keys()] }, 'pruned flavor reservations of starts without an anchor');
    return removed;
  }

  /** One round of pruning over every book (also run periodically after start()). */
  async sweep(): Promise<number> {
    let removed = 0;
    const credentials = new Set([...this.#deps.store.credentials(), ...Object.keys(this.#deps.config().flavors ?? {})]);
    for (const credential of credentials) {
      try {
        removed += await this.#pruneDead(credential);
      } catch (err) {
        this.#deps.logger.warning({ credential, err: (err as Error).message }, 'pruning flavor reservations failed; next round tries again');
      }
    }
    return removed;
  }

  view(credential: string, user?: UserRef): FlavorsView {
    const settings = this.#settings(credential) ?? {};
    const effective = effectiveFlavors(settings, user);
    const usage = usageOf(this.#deps.store.book(credential));
    const userUsage = user ? usage.byUser.get(user.id) : undefined;
    const flavors: Record<string, FlavorView> = {};
    const add = (f: EffectiveFlavor) => {
      flavors[f.name] = {
        display_name: f.displayName,
        description: f.description,
        weight: f.weight,
        max: f.max,
        max_per_user: f.maxPerUser,
        runtime_seconds: f.runtimeSeconds,
        ...(f.runtime !== undefined ? { runtime: f.runtime } : {}),
        ...(f.resources !== undefined ? { resources: f.resources } : {}),
        defined: f.defined,
        current: usage.byFlavor.get(f.name) ?? 0,
        ...(user ? { user_current: userUsage?.byFlavor.get(f.name) ?? 0 } : {}),
      };
    };
    for (const f of effective.flavors.values()) add(f);
    // Names in use that the config does not define (undefined_max, or a flavor removed by a reload).
    for (const name of usage.byFlavor.keys()) {
      if (flavors[name]) continue;
      add({ name, defined: false, displayName: name, description: '', weight: 0, max: effective.undefinedMax, maxPerUser: -1, runtimeSeconds: 0, runtime: undefined, resources: undefined });
    }
    return {
      credential,
      default: effective.default ?? null,
      max_per_user: effective.maxPerUser,
      undefined_max: effective.undefinedMax,
      current: usage.total,
      ...(user ? { user: { user_id: user.id, ...(user.name !== undefined ? { user_name: user.name } : {}), current: userUsage?.total ?? 0 } } : {}),
      flavors,
    };
  }

  /** Running and limit per configured flavor (and per flavor in use), for the metrics. */
  gauges(): FlavorGauge[] {
    const out: FlavorGauge[] = [];
    const credentials = new Set([...Object.keys(this.#deps.config().flavors ?? {}), ...this.#deps.store.credentials()]);
    for (const credential of credentials) {
      for (const [flavor, f] of Object.entries(this.view(credential).flavors)) {
        out.push({ credential, flavor, running: f.current, limit: f.max });
      }
    }
    return out;
  }
}

/** One flavor as a JupyterHub Outpost shows it (its flavors file's keys, and `current`). */
export interface OutpostFlavor {
  /** -1: unlimited. */
  max: number;
  /** Absent: unlimited. */
  maxPerUser?: number;
  weight: number;
  display_name: string;
  description: string;
  /** timedelta's keyword arguments (`{"hours": 2}`); absent: no runtime limit. */
  runtime?: { days?: number; hours?: number; minutes?: number; seconds?: number };
  resources?: Resources;
  current: number;
}

/** A flavor in a JupyterHub Outpost's shape. Pure. */
export function outpostFlavor(f: EffectiveFlavor, current: number): OutpostFlavor {
  const runtime = f.runtimeSeconds > 0 ? (typeof f.runtime === 'object' ? f.runtime : { seconds: f.runtimeSeconds }) : undefined;
  return {
    max: f.max,
    ...(f.maxPerUser >= 0 ? { maxPerUser: f.maxPerUser } : {}),
    weight: f.weight,
    display_name: f.displayName,
    description: f.description,
    ...(runtime ? { runtime } : {}),
    ...(f.resources ? { resources: f.resources } : {}),
    current,
  };
}

/** Resources of the flavor on the main container; a flavor with resources and a template without that container is refused. */
export function patchResources(objects: Array<Record<string, unknown>>, flavor: Pick<EffectiveFlavor, 'name' | 'resources'>, deployment: string, container: string): void {
  const wants = Boolean(flavor.resources?.requests || flavor.resources?.limits);
  if (!wants) return;
  if (applyResources(objects, { deployment, container }, flavor.resources) === 0) {
    throw new DomainError('template_invalid', `Flavor ${flavor.name} sets resources, but the template has no container "${container}" in Deployment ${deployment}`);
  }
}
