// The site's leader among the manager's processes: the Lease election plus
// what follows from it in the cluster. The Lease's holder is this process
// (`<replica>_<boot>`, kube/identity.ts), so two processes of one name never
// both lead. The leader labels its own pod `k8smgr.io/userjobs-leader=
// <DEPLOYMENT_NAME>` (userjob Services select that label, so they reach the
// process that holds the forwards) and removes the label from any other pod
// that still carries it; on giving up leadership it removes its own, unless
// another process of its name (the same pod name) leads by then. Also the
// admin page's view of the processes (kube/presence.ts).
import type { KubeGateway, KubeObject } from './gateway.js';
import { parseProcessId, processId, replicaOf, type ProcessIdentity } from './identity.js';
import { LeaderElector, type Lease, type LeaseTimings } from './lease.js';
import type { ProcessView } from './presence.js';

export const LEADER_LABEL = 'k8smgr.io/userjobs-leader';

/** The selector of userjob Services: the pod of this deployment's leader. */
export function leaderSelector(deploymentName: string): Record<string, string> {
  return { [LEADER_LABEL]: deploymentName };
}

export interface LeadershipOptions {
  gateway: Pick<KubeGateway, 'read' | 'create' | 'replace' | 'mergePatch' | 'list'>;
  /** Where the Lease and the manager's pods are. */
  namespace: string;
  deploymentName: string;
  /** This process: the Lease's holder is its process id; its replica name is its pod's. */
  identity: ProcessIdentity;
  timings?: Partial<LeaseTimings>;
  /** Every live process (the presence records), for the admin page. Without: this process and the holder. */
  presence?: { processes(): ProcessView[] };
  /**
   * Whether userjobs are in use (enabled, with at least one system): only they need the
   * leader's pod label, so only then is a missing pod (POD_NAME) worth a warning.
   */
  userjobsConfigured?: () => boolean | Promise<boolean>;
  log: {
    debug(fields: Record<string, unknown>, message: string): void;
    info(fields: Record<string, unknown>, message: string): void;
    warning(fields: Record<string, unknown>, message: string): void;
  };
}

/** One process in the admin page's replica list (the admin room's ReplicaInfo). */
export interface ReplicaView {
  name: string;
  /** The process's random id: two processes of one name differ here. */
  process?: string;
  self?: boolean;
  holdsLease?: boolean;
  lastSeen?: string;
  /** False when its presence record expired (it is listed until the leader removes the record). */
  live?: boolean;
  pid?: number;
  started?: string;
}

export class Leadership {
  readonly elector: LeaderElector;
  readonly #o: LeadershipOptions;
  readonly #id: string;
  #since: string | undefined;
  #labelling: Promise<void> = Promise.resolve();
  /** Said once each: a missing pod as a warning (userjobs in use), or at debug level (they are not). */
  #noPodWarned = false;
  #noPodNoted = false;

  constructor(opts: LeadershipOptions) {
    this.#o = opts;
    this.#id = processId(opts.identity);
    const fields = { replica: opts.identity.replica, process: opts.identity.boot };
    this.elector = new LeaderElector({
      gateway: opts.gateway,
      namespace: opts.namespace,
      name: `${opts.deploymentName}-leader`,
      identity: this.#id,
      ...(opts.timings ? { timings: opts.timings } : {}),
      onError: (err) => opts.log.warning({ lease: `${opts.deploymentName}-leader`, err: err.message }, 'leader election round failed'),
    });
    this.elector.onStartedLeading(() => {
      this.#since = new Date().toISOString();
      opts.log.info(fields, 'leading: this process holds the Lease');
      this.#relabel(true);
    });
    this.elector.onStoppedLeading(() => {
      this.#since = undefined;
      opts.log.info(fields, 'no longer leading');
      this.#relabel(false);
    });
  }

  /** This process's id, the Lease's holderIdentity while it leads. */
  get id(): string {
    return this.#id;
  }

  start(): void {
    this.elector.start();
  }

  /** Releases the Lease when leading (a rolling restart fails over at once) and takes the label off this pod. */
  async stop(): Promise<void> {
    await this.elector.stop();
    await this.#labelling;
  }

  isLeader(): boolean {
    return this.elector.isLeader();
  }

  holder(): string | undefined {
    return this.elector.holder();
  }

  onStartedLeading(fn: () => void): () => void {
    return this.elector.onStartedLeading(fn);
  }

  onStoppedLeading(fn: () => void): () => void {
    return this.elector.onStoppedLeading(fn);
  }

  /** For /api/health/ details: the name and the process apart; the holder as the Lease has it. */
  details(): { replica: string; process: string; leading: boolean; holder: string | null; since?: string } {
    return {
      replica: this.#o.identity.replica, process: this.#o.identity.boot, leading: this.isLeader(), holder: this.holder() ?? null,
      ...(this.#since ? { since: this.#since } : {}),
    };
  }

  /** The admin page's ReplicaSource: every process with a presence record, and the Lease's holder. */
  replicas(): ReplicaView[] {
    const holder = this.holder();
    const processes = this.#o.presence?.processes() ?? [{ id: this.#id, replica: this.#o.identity.replica, boot: this.#o.identity.boot, self: true, live: true, lastSeen: new Date().toISOString() }];
    const views: ReplicaView[] = processes.map((p) => ({
      name: p.replica, process: p.boot, self: p.self, holdsLease: p.id === holder, live: p.live, lastSeen: p.lastSeen,
      ...(p.pid ? { pid: p.pid } : {}), ...(p.started ? { started: p.started } : {}),
    }));
    if (holder && !processes.some((p) => p.id === holder)) {
      // A holder without a presence record (an older version, or not listed yet).
      const parsed = parseProcessId(holder);
      views.push({ name: replicaOf(holder), ...(parsed ? { process: parsed.boot } : {}), holdsLease: true });
    }
    return views;
  }

  leaseHolder(): string | undefined {
    return this.holder();
  }

  /** One labelling at a time, in the order leadership changed. */
  #relabel(leading: boolean): void {
    this.#labelling = this.#labelling.then(() => this.#label(leading)).catch((err: unknown) =>
      this.#o.log.warning({ err: (err as Error).message }, 'could not move the userjobs leader label'));
  }

  async #label(leading: boolean): Promise<void> {
    const { gateway, namespace, deploymentName } = this.#o;
    const pod = this.#o.identity.replica;
    if (leading && !this.isLeader()) return; // lost again meanwhile
    if (!leading && !this.isLeader() && (await this.#otherOfMyNameLeads())) return; // the label on this pod is the new leader's
    const own = await gateway.mergePatch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace } }, { metadata: { labels: { [LEADER_LABEL]: leading ? deploymentName : null } } });
    if (own === 'gone') await this.#noPod();
    if (!leading) return;
    const labelled = await gateway.list<KubeObject>('v1', 'Pod', namespace, `${LEADER_LABEL}=${deploymentName}`);
    for (const other of labelled) {
      if (other.metadata.name === pod) continue;
      await gateway.mergePatch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: other.metadata.name, namespace } }, { metadata: { labels: { [LEADER_LABEL]: null } } });
      this.#o.log.info({ pod: other.metadata.name }, 'userjobs leader label removed from a former leader\'s pod');
    }
    if (own !== 'gone') this.#o.log.info({ pod }, 'userjobs leader label on this replica\'s pod');
  }

  /** The Lease as the apiserver has it now names another process of this replica's name (its pod is ours too). */
  async #otherOfMyNameLeads(): Promise<boolean> {
    const lease = await this.#o.gateway.read<Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: `${this.#o.deploymentName}-leader`, namespace: this.#o.namespace } });
    const holder = lease?.spec?.holderIdentity ?? '';
    return holder !== '' && holder !== this.#id && replicaOf(holder) === this.#o.identity.replica;
  }

  /** No pod of this replica's name: only userjob Services need one (they select the leader's pod by its label). */
  async #noPod(): Promise<void> {
    const fields = { pod: this.#o.identity.replica, namespace: this.#o.namespace };
    const matters = await Promise.resolve(this.#o.userjobsConfigured?.() ?? false).catch(() => false);
    if (matters && !this.#noPodWarned) {
      this.#noPodWarned = true;
      this.#o.log.warning(fields, 'no pod of this replica\'s name (POD_NAME): userjob Services cannot reach this replica');
    } else if (!matters && !this.#noPodNoted) {
      this.#noPodNoted = true;
      this.#o.log.debug(fields, 'no pod of this replica\'s name (POD_NAME); no userjobs configured, so nothing needs one');
    }
  }
}
