// The site's leader among the manager's replicas: the Lease election plus what
// follows from it in the cluster. The leader labels its own pod
// `k8smgr.io/userjobs-leader=<DEPLOYMENT_NAME>` (userjob Services select that
// label, so they reach the replica that holds the forwards) and removes the
// label from any other pod that still carries it; on giving up leadership it
// removes its own. Also the admin page's view of the replicas.
import type { KubeGateway, KubeObject } from './gateway.js';
import { LeaderElector, type LeaseTimings } from './lease.js';

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
  /** This replica: the Lease's holderIdentity and the name of its pod. */
  replica: string;
  timings?: Partial<LeaseTimings>;
  log: {
    info(fields: Record<string, unknown>, message: string): void;
    warning(fields: Record<string, unknown>, message: string): void;
  };
}

export interface ReplicaView {
  name: string;
  self?: boolean;
  holdsLease?: boolean;
  lastSeen?: string;
}

export class Leadership {
  readonly elector: LeaderElector;
  readonly #o: LeadershipOptions;
  #since: string | undefined;
  #labelling: Promise<void> = Promise.resolve();
  /** False after the first "no pod of my name" (a manager outside Kubernetes): said once. */
  #podKnown = true;

  constructor(opts: LeadershipOptions) {
    this.#o = opts;
    this.elector = new LeaderElector({
      gateway: opts.gateway,
      namespace: opts.namespace,
      name: `${opts.deploymentName}-leader`,
      identity: opts.replica,
      ...(opts.timings ? { timings: opts.timings } : {}),
      onError: (err) => opts.log.warning({ lease: `${opts.deploymentName}-leader`, err: err.message }, 'leader election round failed'),
    });
    this.elector.onStartedLeading(() => {
      this.#since = new Date().toISOString();
      opts.log.info({ replica: opts.replica }, 'leading: this replica holds the Lease');
      this.#relabel(true);
    });
    this.elector.onStoppedLeading(() => {
      this.#since = undefined;
      opts.log.info({ replica: opts.replica }, 'no longer leading');
      this.#relabel(false);
    });
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

  /** For /api/health/ details. */
  details(): { replica: string; leading: boolean; holder: string | null; since?: string } {
    return { replica: this.#o.replica, leading: this.isLeader(), holder: this.holder() ?? null, ...(this.#since ? { since: this.#since } : {}) };
  }

  /** The admin page's ReplicaSource: this replica and the Lease holder. */
  replicas(): ReplicaView[] {
    const holder = this.holder();
    const self: ReplicaView = { name: this.#o.replica, self: true, holdsLease: holder === this.#o.replica, lastSeen: new Date().toISOString() };
    return holder && holder !== this.#o.replica ? [self, { name: holder, holdsLease: true }] : [self];
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
    const { gateway, namespace, deploymentName, replica } = this.#o;
    if (leading && !this.isLeader()) return; // lost again meanwhile
    const own = await gateway.mergePatch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: replica, namespace } }, { metadata: { labels: { [LEADER_LABEL]: leading ? deploymentName : null } } });
    if (own === 'gone' && this.#podKnown) {
      this.#podKnown = false;
      this.#o.log.warning({ pod: replica, namespace }, 'no pod of this replica\'s name (POD_NAME): userjob Services cannot reach this replica');
    }
    if (!leading) return;
    const labelled = await gateway.list<KubeObject>('v1', 'Pod', namespace, `${LEADER_LABEL}=${deploymentName}`);
    for (const pod of labelled) {
      if (pod.metadata.name === replica) continue;
      await gateway.mergePatch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata.name, namespace } }, { metadata: { labels: { [LEADER_LABEL]: null } } });
      this.#o.log.info({ pod: pod.metadata.name }, 'userjobs leader label removed from a former leader\'s pod');
    }
    if (own !== 'gone') this.#o.log.info({ pod: replica }, 'userjobs leader label on this replica\'s pod');
  }
}
