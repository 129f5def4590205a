// Keeps the tunnels that the userjobs want: one control master per HPC system
// and the forwards through it. A dead master is started again and all its
// forwards re-added; a forward whose local port nobody holds is re-added.
// Operations on one system run one after the other.
import type { AppLogger } from '../logging/logger.js';
import { isPortFree } from './ports.js';
import { KeyedQueue } from './queue.js';
import { aliasOf, forwardSpec, type ForwardTarget, type SshClient } from './ssh.js';

export class TunnelError extends Error {
  override name = 'TunnelError';
  constructor(
    readonly system: string,
    readonly detail: string,
  ) {
    super(`Could not create connection to ${aliasOf(system)}`);
  }
}

interface Desired {
  system: string;
  targets: ForwardTarget[];
}

interface MasterState {
  lastError: string | null;
  pid: number | undefined;
  restarts: number;
}

export interface SupervisorStatus {
  systems: Record<string, { up: boolean; pid: number | undefined; restarts: number; last_error: string | null }>;
  forwards: number;
}

/** A failed master start is not tried again for this long (many userjobs of one unreachable system). */
const RETRY_AFTER_MS = 3000;

const sameTargets = (a: ForwardTarget[], b: ForwardTarget[]) =>
  a.length === b.length && a.every((t, i) => t.localPort === b[i]?.localPort && t.node === b[i]?.node && t.nodePort === b[i]?.nodePort);

export class TunnelSupervisor {
  readonly #desired = new Map<string, Desired>();
  readonly #masters = new Map<string, MasterState>();
  readonly #forwardErrors = new Map<string, string>();
  readonly #locks = new KeyedQueue();
  /** When a master start last failed: further attempts within RETRY_AFTER_MS fail at once. */
  readonly #lastFailure = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #stopped = false;
  /** Each startTimer starts a new loop; an older one ends at its next turn. */
  #generation = 0;

  constructor(
    private readonly ssh: SshClient,
    private readonly logger: AppLogger,
    private readonly probe: (address: string, port: number) => Promise<boolean> = isPortFree,
  ) {}

  #lock<T>(system: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(system.toLowerCase(), fn);
  }

  #state(system: string): MasterState {
    let s = this.#masters.get(system);
    if (!s) this.#masters.set(system, (s = { lastError: null, pid: undefined, restarts: 0 }));
    return s;
  }

  /** Makes sure the master runs; true when it had to be (re)started. Throws TunnelError. */
  async #ensureMaster(system: string): Promise<boolean> {
    const state = this.#state(system);
    const check = await this.ssh.check(system);
    if (check.alive) {
      state.pid = check.pid;
      state.lastError = null;
      return false;
    }
    const failedAt = this.#lastFailure.get(system);
    if (failedAt !== undefined && Date.now() - failedAt < RETRY_AFTER_MS && state.lastError) {
      throw new TunnelError(system, state.lastError);
    }
    try {
      await this.ssh.startMaster(system);
    } catch (err) {
      state.lastError = (err as Error).message;
      state.pid = undefined;
      this.#lastFailure.set(system, Date.now());
      throw new TunnelError(system, state.lastError);
    }
    this.#lastFailure.delete(system);
    state.restarts++;
    state.pid = (await this.ssh.check(system)).pid;
    state.lastError = null;
    this.logger.info({ system, pid: state.pid }, 'ssh control master started');
    return true;
  }

  async #addForwards(system: string, key: string, targets: ForwardTarget[]): Promise<void> {
    try {
      for (const t of targets) await this.ssh.forward(system, t);
      this.#forwardErrors.delete(key);
    } catch (err) {
      this.#forwardErrors.set(key, (err as Error).message);
      throw new TunnelError(system, (err as Error).message);
    }
  }

  /** Every other userjob's forwards through `system`, after its master was restarted. */
  async #readdAll(system: string, except?: string): Promise<void> {
    for (const [key, d] of this.#desired) {
      if (d.system !== system || key === except) continue;
      await this.#addForwards(system, key, d.targets).catch((err: unknown) =>
        this.logger.error({ system, userjob: key.replace('\0', '/'), err: (err as TunnelError).detail }, 'could not forward again'),
      );
    }
  }

  /**
   * Makes the forwards of one userjob exist (starting the system's master when
   * needed) and remembers them for supervision. On failure nothing of this call
   * stays forwarded and a TunnelError is thrown.
   */
  ensure(key: string, system: string, targets: ForwardTarget[]): Promise<void> {
    return this.#lock(system, async () => {
      const previous = this.#desired.get(key);
      if (previous && previous.system === system && sameTargets(previous.targets, targets)) {
        // Already wanted: check that it still holds.
        const restarted = await this.#ensureMaster(system);
        if (restarted) await this.#readdAll(system);
        else for (const t of targets) if (await this.#free(t)) await this.#addForwards(system, key, [t]);
        return;
      }
      const restarted = await this.#ensureMaster(system);
      if (restarted) await this.#readdAll(system, key);
      try {
        await this.#addForwards(system, key, targets);
      } catch (err) {
        for (const t of targets) await this.ssh.cancel(system, t);
        throw err;
      }
      if (previous) {
        const stale = previous.targets.filter((p) => !targets.some((t) => t.localPort === p.localPort && t.node === p.node && t.nodePort === p.nodePort));
        await this.#cancel(previous.system, stale);
      }
      this.#desired.set(key, { system, targets });
    });
  }

  async #cancel(system: string, targets: ForwardTarget[]): Promise<void> {
    for (const t of targets) {
      const r = await this.ssh.cancel(system, t);
      if (r.code !== 0) this.logger.debug({ system, forward: forwardSpec(this.ssh.opts.bindAddress, t), err: r.stderr }, 'cancel of a forward failed (master gone?)');
    }
  }

  /** Cancels a userjob's forwards and stops supervising them. */
  async remove(key: string): Promise<boolean> {
    const d = this.#desired.get(key);
    if (!d) return false;
    this.#desired.delete(key);
    this.#forwardErrors.delete(key);
    await this.#lock(d.system, () => this.#cancel(d.system, d.targets));
    this.logger.info({ system: d.system, userjob: key.replace('\0', '/') }, 'forwards cancelled');
    return true;
  }

  has(key: string, system: string, targets: ForwardTarget[]): boolean {
    const d = this.#desired.get(key);
    return Boolean(d && d.system === system && sameTargets(d.targets, targets));
  }

  keys(): string[] {
    return [...this.#desired.keys()];
  }

  /** The problem of a supervised userjob right now, if any (ssh's own words). */
  errorOf(key: string): string | undefined {
    const d = this.#desired.get(key);
    if (!d) return undefined;
    return this.#masters.get(d.system)?.lastError ?? this.#forwardErrors.get(key);
  }

  async #free(t: ForwardTarget): Promise<boolean> {
    return this.probe(this.ssh.opts.bindAddress, t.localPort);
  }

  /** One supervision round over every system that has forwards. */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const systems = new Set([...this.#desired.values()].map((d) => d.system));
      for (const system of systems) {
        await this.#lock(system, async () => {
          let restarted: boolean;
          try {
            restarted = await this.#ensureMaster(system);
          } catch (err) {
            this.logger.error({ system, err: (err as TunnelError).detail }, 'ssh control master is down and could not be started again');
            return;
          }
          if (restarted) {
            this.logger.warning({ system }, 'ssh control master was gone: started again, forwarding again');
            await this.#readdAll(system);
            return;
          }
          for (const [key, d] of this.#desired) {
            if (d.system !== system) continue;
            for (const t of d.targets) {
              if (!(await this.#free(t))) continue;
              this.logger.warning({ system, forward: forwardSpec(this.ssh.opts.bindAddress, t) }, 'forward was gone: adding it again');
              await this.#addForwards(system, key, [t]).catch((err: unknown) =>
                this.logger.error({ system, err: (err as TunnelError).detail }, 'could not forward again'),
              );
            }
          }
        });
      }
    } finally {
      this.#ticking = false;
    }
  }

  /** Supervision every `intervalMs()` (read each round, so a config reload applies). Again after stop(): supervises anew. */
  startTimer(intervalMs: () => number, onTick?: () => Promise<void>): void {
    this.#stopped = false;
    clearTimeout(this.#timer);
    const generation = ++this.#generation;
    const loop = () => {
      if (this.#stopped || generation !== this.#generation) return;
      this.#timer = setTimeout(() => {
        void (async () => {
          try {
            await this.tick();
            await onTick?.();
          } catch (err) {
            this.logger.error({ err: (err as Error).message }, 'userjob supervision round failed');
          }
          loop();
        })();
      }, intervalMs());
      this.#timer.unref();
    };
    loop();
  }

  /** Removes masters a previous process left behind (their forwards belong to nobody now). */
  async clearLeftovers(systems: Iterable<string>): Promise<void> {
    for (const system of systems) {
      await this.#lock(system, async () => {
        const check = await this.ssh.check(system);
        if (check.alive) this.logger.info({ system, pid: check.pid }, 'ending a control master left by an earlier run');
        await this.ssh.exit(system);
      });
    }
  }

  status(): SupervisorStatus {
    const systems: SupervisorStatus['systems'] = {};
    for (const [system, s] of this.#masters) systems[system] = { up: s.lastError === null && s.pid !== undefined, pid: s.pid, restarts: s.restarts, last_error: s.lastError };
    return { systems, forwards: [...this.#desired.values()].reduce((n, d) => n + d.targets.length, 0) };
  }

  /** Stops supervising; with `exitMasters` also ends the control masters (and so every forward). */
  async stop(opts: { exitMasters: boolean }): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!opts.exitMasters) return;
    for (const system of this.#masters.keys()) await this.#lock(system, () => this.ssh.exit(system)).catch(() => undefined);
    this.#desired.clear();
  }
}
