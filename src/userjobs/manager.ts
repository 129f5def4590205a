// The userjobs of the callers' services: create, list, read, delete; and the
// reconciliation that keeps every userjob Service of the cluster forwarded by
// this process (the leader, with several replicas; after a restart too) and
// ends the forwards of userjobs whose Service or user service is gone. What the
// cluster holds is read through UserjobServices.
import { mkdir, readFile } from 'node:fs/promises';
import type { Principal } from '../auth/types.js';
import type { ManagerEnv } from '../config/env.js';
import { conflictError, failedError, invalidInput, notFoundError, unavailableError } from '../errors.js';
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { RetryWindow } from '../kube/retry.js';
import type { AppLogger } from '../logging/logger.js';
import type { CachedService, ServiceCache } from '../services/cache.js';
import type { ServiceRecord } from '../services/types.js';
import {
  buildUserjobService, ERROR_ANNOTATION, FORWARDED_ANNOTATION, ownerUid, readUserjob, userjobKey, userjobServiceName, viewOf,
  type Forward, type UserjobRecord, type UserjobView,
} from './objects.js';
import { PortAllocator } from './ports.js';
import { KeyedQueue } from './queue.js';
import { parseUserjobRequest, validServiceName, type UserjobRequest } from './request.js';
import { readUserjobsSettings, systemsFromSshConfig, type UserjobsSettings } from './settings.js';
import { UserjobServices } from './services.js';
import { SshClient, type ForwardTarget, type Runner } from './ssh.js';
import { TunnelError, TunnelSupervisor, type SupervisorStatus } from './supervisor.js';

export interface UserjobsDeps {
  /** The whole current config (its `userjobs` section is read). */
  config: () => unknown;
  env: ManagerEnv;
  gateway: KubeGateway;
  /** The services' watch cache: owners of the userjobs. */
  cache: ServiceCache;
  logger: AppLogger;
  /** Replaces the ssh runner (tests). */
  runner?: Runner;
  /**
   * With several replicas: only the leader forwards (between lead() and
   * follow()); the others keep the records and answer from the Services'
   * annotations. Without: this process forwards every userjob.
   */
  leadership?: UserjobLeadership;
}

export interface UserjobLeadership {
  /** This process's id (`<replica>_<boot>`): the Lease's holder while it leads, the forwarder written on the Services. */
  id: string;
  /** Who holds the Lease now. */
  holder(): string | undefined;
  /** True while this process leads, by the clock now (a process that was frozen learns here that it lost). */
  leading(): boolean;
  /** The userjob Services' selector: the leader's pod. */
  selector: Record<string, string>;
}

export interface UserjobApi {
  create(principal: Principal, body: unknown): Promise<UserjobView>;
  list(principal: Principal): UserjobView[];
  get(principal: Principal, service: string): UserjobView;
  remove(principal: Principal, service: string): Promise<void>;
}

const targetsOf = (r: UserjobRecord): ForwardTarget[] => r.forwards.map((f) => ({ localPort: f.localPort, node: r.target_node, nodePort: f.nodePort }));

export class UserjobManager implements UserjobApi {
  readonly #deps: UserjobsDeps;
  readonly #log: AppLogger;
  #settings: UserjobsSettings;
  readonly #ssh: SshClient;
  readonly #supervisor: TunnelSupervisor;
  readonly #ports: PortAllocator;
  readonly #services: UserjobServices;
  readonly #queue = new KeyedQueue();
  /** Userjobs that could not be forwarded (after a restart, or by another replica's POST): since when, and why. */
  readonly #failing = new Map<string, { since: number; detail: string }>();
  /** True while this process forwards (always without leadership; between lead() and follow() with it). */
  #ready = false;
  #started: Promise<void> | undefined;
  /** lead() and follow() one after the other. */
  #role: Promise<void> = Promise.resolve();

  constructor(deps: UserjobsDeps) {
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'userjobs' });
    this.#settings = this.#readSettings(true);
    const s = this.#settings;
    this.#ssh = new SshClient({
      binary: s.ssh_binary,
      configFile: deps.env.sshConfigFile,
      controlDir: s.control_dir,
      bindAddress: s.bind_address,
      connectTimeoutSeconds: s.connect_timeout_seconds,
      commandTimeoutSeconds: s.command_timeout_seconds,
      serverAliveIntervalSeconds: s.server_alive_interval_seconds,
    }, deps.runner);
    this.#supervisor = new TunnelSupervisor(this.#ssh, this.#log);
    this.#ports = new PortAllocator(() => this.#settings.port_range, () => this.#settings.bind_address);
    this.#services = new UserjobServices({
      gateway: deps.gateway, namespace: this.#ns, deploymentName: deps.env.deploymentName, onChange: (key) => this.#schedule(key),
    });
  }

  get #ns(): string {
    return this.#deps.env.serviceNamespace;
  }

  /** The current settings; a broken section keeps the last good one. */
  #readSettings(first = false): UserjobsSettings {
    const parsed = readUserjobsSettings(this.#deps.config());
    if ('settings' in parsed) return (this.#settings = parsed.settings);
    this.#log.error({ problems: parsed.problems }, 'userjobs config refused, keeping the last good one');
    if (first) {
      const fallback = readUserjobsSettings({});
      if ('settings' in fallback) return fallback.settings;
    }
    return this.#settings;
  }

  /** The HPC systems users may name: `userjobs.systems`, else the SSH config's `Host tunnel_<system>`. */
  async systems(): Promise<string[]> {
    const s = this.#readSettings();
    if (s.systems.length) return s.systems;
    const file = this.#deps.env.sshConfigFile;
    if (!file) return [];
    try {
      return systemsFromSshConfig(await readFile(file, 'utf8'));
    } catch (err) {
      this.#log.error({ file, err: (err as Error).message }, 'cannot read SSHCONFIGFILE');
      return [];
    }
  }

  get enabled(): boolean {
    return this.#readSettings().enabled;
  }

  status(): SupervisorStatus & { userjobs: number; synced: boolean } {
    return { ...this.#supervisor.status(), userjobs: this.#services.size, synced: this.#services.synced };
  }

  #owner(credential: string, service: string): CachedService | undefined {
    const found = this.#deps.cache.find(credential, service);
    return found && !found.record.stop_pending && !found.anchor.metadata.deletionTimestamp ? found : undefined;
  }

  #view(key: string, svc: KubeObject): UserjobView | undefined {
    const record = readUserjob(svc);
    if (!record) return undefined;
    if (this.#deps.leadership && !this.#ready) {
      // Another replica forwards: what it wrote on the Service.
      const by = svc.metadata.annotations?.[FORWARDED_ANNOTATION];
      const error = svc.metadata.annotations?.[ERROR_ANNOTATION];
      if (error) return viewOf(record, this.#ns, 'error', error);
      const holder = this.#deps.leadership.holder();
      return viewOf(record, this.#ns, by && (!holder || by === holder) ? 'running' : 'connecting', '');
    }
    if (this.#supervisor.has(key, record.hostname, targetsOf(record))) {
      const problem = this.#supervisor.errorOf(key);
      return viewOf(record, this.#ns, problem ? 'error' : 'running', problem ?? '');
    }
    const failing = this.#failing.get(key);
    return viewOf(record, this.#ns, failing ? 'error' : 'connecting', failing?.detail ?? '');
  }

  // ---- API ----

  async create(principal: Principal, body: unknown): Promise<UserjobView> {
    const settings = this.#readSettings();
    if (!settings.enabled) throw notFoundError();
    const parsed = parseUserjobRequest(body, await this.systems(), settings.max_ports);
    if (!parsed.ok) throw parsed.status === 400 ? invalidInput(...parsed.messages) : notFoundError();
    const req = parsed.value;
    const credential = principal.credential;
    const owner = this.#owner(credential, req.service);
    if (!owner) throw notFoundError();
    const key = userjobKey(credential, req.service);
    const log = this.#log.child({ uuidcode: req.service, credential, action: 'userjob-create', system: req.hostname });
    return this.#queue.run(key, () => this.#create(key, req, owner, log));
  }

  async #create(key: string, req: UserjobRequest, owner: CachedService, log: AppLogger): Promise<UserjobView> {
    const existing = await this.#existing(key, req, owner);
    let forwards: Forward[];
    let reserved: number[] = [];
    const previous = existing ? readUserjob(existing) : undefined;
    const same = previous && previous.hostname === req.hostname && previous.target_node === req.target_node &&
      previous.forwards.length === req.ports.length &&
      previous.forwards.every((f, i) => f.servicePort === req.ports[i]?.servicePort && f.nodePort === req.ports[i]?.nodePort);
    if (same && previous) {
      forwards = previous.forwards;
    } else {
      try {
        reserved = await this.#ports.reserve(req.ports.length, this.#services.usedPorts());
      } catch (err) {
        throw unavailableError('Could not create userjob.', (err as Error).message);
      }
      forwards = req.ports.map((p, i) => ({ ...p, localPort: reserved[i] as number }));
    }
    const record: UserjobRecord = {
      service: req.service,
      hostname: req.hostname,
      target_node: req.target_node,
      jobid: req.jobid ?? (same && previous ? previous.jobid : null),
      jhub_credential: owner.record.jhub_credential,
      forwards,
      created: same && previous ? previous.created : new Date().toISOString(),
    };
    const leadership = this.#deps.leadership;
    if (leadership && !this.#ready) return this.#createForLeader(key, record, owner, Boolean(same), reserved, log);
    try {
      await this.#supervisor.ensure(key, req.hostname, targetsOf(record));
    } catch (err) {
      this.#ports.release(reserved);
      if (err instanceof TunnelError) {
        log.error({ err: err.detail }, 'userjob refused: no tunnel');
        throw failedError(err.message, err.detail);
      }
      throw err;
    }
    try {
      const svc = buildUserjobService({
        instance: this.#deps.env.deploymentName, namespace: this.#ns, deploymentName: this.#deps.env.deploymentName, owner, userjob: record,
        ...(leadership ? { selector: leadership.selector, forwardedBy: leadership.id } : {}),
      });
      const applied = await this.#deps.gateway.apply(svc);
      this.#services.wrote(key, applied);
      this.#failing.delete(key);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'userjob Service could not be written: cancelling the forwards');
      if (previous) await this.#supervisor.ensure(key, previous.hostname, targetsOf(previous)).catch(() => this.#supervisor.remove(key));
      else await this.#supervisor.remove(key);
      throw failedError('Could not create userjob.', (err as Error).message);
    } finally {
      this.#ports.release(reserved);
    }
    log.info({ forwards: forwards.map((f) => `${f.servicePort}->${f.localPort}->${req.target_node}:${f.nodePort}`), jobid: record.jobid }, same ? 'userjob confirmed' : 'userjob created');
    return viewOf(record, this.#ns, 'running');
  }

  /**
   * On a replica that does not lead: writes the record and waits for the
   * leader's word on the Service (forwarded, or ssh's error). An error is the
   * same 500 the leader would answer (a new userjob's Service is removed);
   * without a word in time (no leader right now) the userjob is `connecting`
   * and the next leader forwards it.
   */
  async #createForLeader(key: string, record: UserjobRecord, owner: CachedService, same: boolean, reserved: number[], log: AppLogger): Promise<UserjobView> {
    const leadership = this.#deps.leadership as UserjobLeadership;
    try {
      const svc = buildUserjobService({
        instance: this.#deps.env.deploymentName, namespace: this.#ns, deploymentName: this.#deps.env.deploymentName, owner, userjob: record,
        // A changed record is not forwarded until the leader says so; the same one keeps the leader's word.
        selector: leadership.selector, ...(same ? {} : { forwardedBy: '' }),
      });
      const applied = await this.#deps.gateway.apply(svc);
      this.#services.wrote(key, applied);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'userjob Service could not be written');
      throw failedError('Could not create userjob.', (err as Error).message);
    } finally {
      this.#ports.release(reserved);
    }
    const s = this.#settings;
    const window = new RetryWindow({ intervalMs: 100, timeoutMs: (s.connect_timeout_seconds + s.command_timeout_seconds + 5) * 1000 });
    const samePorts = (r: UserjobRecord | undefined) => r !== undefined && r.hostname === record.hostname && r.target_node === record.target_node &&
      r.forwards.length === record.forwards.length && r.forwards.every((f, i) => f.localPort === record.forwards[i]?.localPort && f.nodePort === record.forwards[i]?.nodePort);
    do {
      const svc = this.#services.current(key);
      if (svc && !svc.metadata.deletionTimestamp && samePorts(readUserjob(svc))) {
        const by = svc.metadata.annotations?.[FORWARDED_ANNOTATION];
        const error = svc.metadata.annotations?.[ERROR_ANNOTATION];
        if (by) {
          log.info({ leader: by }, same ? 'userjob confirmed (forwarded by the leader)' : 'userjob created (forwarded by the leader)');
          return viewOf(record, this.#ns, 'running');
        }
        if (error) {
          log.error({ err: error }, 'userjob refused by the leader: no tunnel');
          if (!same) await this.#services.delete(key, svc).catch(() => undefined);
          throw failedError(`Could not create connection to tunnel_${record.hostname}`, error);
        }
      }
    } while (await window.pause());
    log.warning({ holder: leadership.holder() ?? null }, 'userjob written; no word from the leader yet: connecting');
    return viewOf(record, this.#ns, 'connecting');
  }

  /**
   * The leader's word on a userjob's Service (who forwards it, or why not),
   * and the selector of the leader's pod (Services written before replicas
   * selected `name`). Written only when it differs.
   */
  async #mark(svc: KubeObject, forwardedBy: string, error: string): Promise<void> {
    const leadership = this.#deps.leadership;
    if (!leadership) return;
    const a = svc.metadata.annotations ?? {};
    const selector = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {};
    const want = leadership.selector;
    const sameSelector = Object.keys(selector).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => selector[k] === v);
    if ((a[FORWARDED_ANNOTATION] ?? '') === forwardedBy && (a[ERROR_ANNOTATION] ?? '') === error && sameSelector) return;
    const patch: Record<string, unknown> = {
      metadata: { annotations: { [FORWARDED_ANNOTATION]: forwardedBy, [ERROR_ANNOTATION]: error }, resourceVersion: svc.metadata.resourceVersion },
    };
    if (!sameSelector) patch.spec = { selector: { ...Object.fromEntries(Object.keys(selector).map((k) => [k, null])), ...want } };
    await this.#deps.gateway.mergePatch({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc.metadata.name, namespace: this.#ns } }, patch)
      .catch((err: unknown) => this.#log.debug({ service: svc.metadata.name, err: (err as Error).message }, 'userjob Service not marked (changed meanwhile: the watch brings it back)'));
  }

  /**
   * The Service of this userjob that may stay, if any. A Service of that name
   * that belongs to something else is a conflict; one of an earlier start of
   * the user's service (another anchor) or one being deleted is removed first.
   */
  async #existing(key: string, req: UserjobRequest, owner: CachedService): Promise<KubeObject | undefined> {
    const name = userjobServiceName(req.service);
    const ref = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: this.#ns } };
    const window = new RetryWindow({ intervalMs: 250, timeoutMs: 30_000 });
    for (;;) {
      const svc = await this.#deps.gateway.read<KubeObject>(ref);
      if (!svc) return undefined;
      const record = readUserjob(svc);
      if (!record || userjobKey(record.jhub_credential, record.service) !== key) {
        throw conflictError(`A Kubernetes Service named ${name} exists and is not this userjob's.`);
      }
      if (!svc.metadata.deletionTimestamp && ownerUid(svc) === owner.anchor.metadata.uid) return svc;
      if (!svc.metadata.deletionTimestamp) await this.#services.delete(key, svc);
      await this.#supervisor.remove(key);
      if (!(await window.pause())) throw unavailableError('Could not create userjob.', `the earlier Service ${name} is still being removed`);
    }
  }

  list(principal: Principal): UserjobView[] {
    if (!this.enabled) return [];
    const out: UserjobView[] = [];
    const keys = this.#services.keys();
    for (const key of keys) {
      if (!key.startsWith(`${principal.credential}\0`)) continue;
      const svc = this.#services.current(key);
      const view = svc && !svc.metadata.deletionTimestamp ? this.#view(key, svc) : undefined;
      if (view) out.push(view);
    }
    return out.sort((a, b) => a.service.localeCompare(b.service));
  }

  get(principal: Principal, service: string): UserjobView {
    if (!this.enabled || !validServiceName(service)) throw notFoundError();
    const key = userjobKey(principal.credential, service);
    const svc = this.#services.current(key);
    const view = svc && !svc.metadata.deletionTimestamp ? this.#view(key, svc) : undefined;
    if (!view) throw notFoundError();
    return view;
  }

  async remove(principal: Principal, service: string): Promise<void> {
    if (!this.enabled || !validServiceName(service)) throw notFoundError();
    const key = userjobKey(principal.credential, service);
    await this.#queue.run(key, async () => {
      const svc = this.#services.current(key);
      if (!svc || !readUserjob(svc)) throw notFoundError();
      const log = this.#log.child({ uuidcode: service, credential: principal.credential, action: 'userjob-delete' });
      try {
        await this.#services.delete(key, svc);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'userjob Service could not be deleted');
        throw failedError('Could not delete userjob.', (err as Error).message);
      }
      this.#failing.delete(key);
      await this.#supervisor.remove(key);
      log.info('userjob deleted');
    });
  }

  /** The user's service was stopped: its userjobs end now (the GC removes their Services as well). */
  async onServiceStopped(record: Pick<ServiceRecord, 'jhub_credential' | 'servername'>): Promise<void> {
    const key = userjobKey(record.jhub_credential, record.servername);
    await this.#queue.run(key, async () => {
      const svc = this.#services.current(key);
      if (svc) {
        await this.#services.delete(key, svc)
          .catch((err: unknown) => this.#log.warning({ err: (err as Error).message }, 'userjob Service not deleted; the garbage collector will'));
      }
      this.#services.forget(key);
      this.#failing.delete(key);
      if (await this.#supervisor.remove(key)) this.#log.info({ uuidcode: record.servername, credential: record.jhub_credential }, 'userjob ended with its service');
    });
  }

  // ---- reconciliation ----

  #schedule(key: string): void {
    if (!this.#ready) return;
    void this.#reconcile(key).catch((err: unknown) => this.#log.error({ userjob: key.replace('\0', '/'), err: (err as Error).message }, 'userjob reconcile failed'));
  }

  /** Brings one userjob's forwards in line with its Service and its owner. */
  #reconcile(key: string): Promise<void> {
    return this.#queue.run(key, async () => {
      // Leader's work: not after the claim to lead lapsed (follow() comes with the news and ends the forwards).
      if (this.#deps.leadership && !this.#deps.leadership.leading()) return;
      const svc = this.#services.current(key);
      const record = svc ? readUserjob(svc) : undefined;
      if (!svc || !record || svc.metadata.deletionTimestamp) {
        this.#failing.delete(key);
        await this.#supervisor.remove(key);
        return;
      }
      const cacheSynced = this.#deps.cache.anchors.status.synced;
      const owner = this.#owner(record.jhub_credential, record.service);
      if (!owner || owner.anchor.metadata.uid !== ownerUid(svc)) {
        if (!cacheSynced) return;
        this.#log.info({ uuidcode: record.service, credential: record.jhub_credential }, 'the userjob\'s service is gone: removing the userjob');
        await this.#services.delete(key, svc);
        this.#failing.delete(key);
        await this.#supervisor.remove(key);
        return;
      }
      const me = this.#deps.leadership?.id ?? '';
      if (this.#supervisor.has(key, record.hostname, targetsOf(record))) {
        await this.#mark(svc, me, this.#supervisor.errorOf(key) ?? '');
        return;
      }
      try {
        await this.#supervisor.ensure(key, record.hostname, targetsOf(record));
        if (this.#failing.delete(key)) this.#log.info({ uuidcode: record.service }, 'userjob forwarded again');
        else this.#log.info({ uuidcode: record.service, credential: record.jhub_credential, system: record.hostname }, 'userjob forwarded');
        await this.#mark(svc, me, '');
      } catch (err) {
        const detail = err instanceof TunnelError ? err.detail : (err as Error).message;
        const since = this.#failing.get(key)?.since ?? Date.now();
        this.#failing.set(key, { since, detail });
        await this.#mark(svc, '', detail);
        const limitMs = this.#settings.restore_timeout_seconds * 1000;
        if (Date.now() - since < limitMs) {
          this.#log.warning({ uuidcode: record.service, system: record.hostname, err: detail }, 'userjob cannot be forwarded yet: trying again');
          return;
        }
        this.#log.error({ uuidcode: record.service, credential: record.jhub_credential, system: record.hostname, err: detail },
          `userjob could not be forwarded for ${this.#settings.restore_timeout_seconds} s: removing it`);
        await this.#services.delete(key, svc);
        this.#failing.delete(key);
      }
    });
  }

  async #reconcileAll(): Promise<void> {
    const keys = new Set([...this.#services.keys(), ...this.#supervisor.keys()]);
    await Promise.all([...keys].map((key) => this.#reconcile(key).catch((err: unknown) =>
      this.#log.error({ userjob: key.replace('\0', '/'), err: (err as Error).message }, 'userjob reconcile failed'))));
  }

  /**
   * Watches the userjob Services, ends control masters an earlier run left,
   * forwards every saved userjob again, then supervises. Bounded in time.
   */
  start(): Promise<void> {
    return (this.#started ??= this.#start());
  }

  async #start(): Promise<void> {
    const s = this.#readSettings();
    if (!s.enabled) {
      this.#log.info('userjobs disabled');
      return;
    }
    await mkdir(s.control_dir, { recursive: true, mode: 0o700 });
    this.#services.start();
    await Promise.race([this.#services.waitForSync(), new Promise((r) => setTimeout(r, 30_000).unref())]);
    if (!this.#deps.leadership) await this.#forward();
  }

  /** This replica became the leader: forward every userjob (after start()). */
  lead(): Promise<void> {
    return (this.#role = this.#role.then(async () => {
      if (!this.#deps.leadership || this.#ready || !this.enabled) return;
      await this.start();
      await this.#forward();
    }).catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'taking over the userjobs failed')));
  }

  /** This replica no longer leads: its forwards end (the new leader's pod carries the Services now). */
  follow(): Promise<void> {
    return (this.#role = this.#role.then(async () => {
      if (!this.#deps.leadership || !this.#ready) return;
      this.#ready = false;
      await this.#supervisor.stop({ exitMasters: true });
      this.#failing.clear();
      this.#log.info('userjob forwards ended: another replica leads');
    }).catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'handing over the userjobs failed')));
  }

  async #forward(): Promise<void> {
    const systems = new Set(await this.systems());
    for (const svc of this.#services.watched()) {
      const r = readUserjob(svc);
      if (r) systems.add(r.hostname);
    }
    await this.#supervisor.clearLeftovers(systems);
    this.#ready = true;
    await this.#reconcileAll();
    this.#log.info({ userjobs: this.#services.size, ...this.#supervisor.status() }, 'userjobs restored');
    this.#supervisor.startTimer(() => this.#readSettings().check_interval_seconds * 1000, () => this.#reconcileAll());
  }

  /** Stops watching and supervising and ends the control masters (a restart forwards again). */
  async stop(): Promise<void> {
    await this.#role;
    this.#ready = false;
    this.#services.stop();
    await this.#supervisor.stop({ exitMasters: true });
  }

  /** Stops watching and supervising but leaves ssh running, as a crash would (tests). */
  async abandon(): Promise<void> {
    this.#ready = false;
    this.#services.stop();
    await this.#supervisor.stop({ exitMasters: false });
  }
}
