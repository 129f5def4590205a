// createFlavors(deps): what `k8smgr serve` needs of the flavors room: the
// admission for the start path (and the lifecycle sweeper's releases), the
// view for GET /api/flavors/ and the metrics, start and stop.
import type { Config } from '../config/schema.js';
import type { KubeGateway } from '../kube/gateway.js';
import type { AppLogger } from '../logging/logger.js';
import { FlavorAdmission } from './admission.js';
import type { RefusalReason } from './capacity.js';
import { UsagePusher } from './push.js';
import { listAnchoredStarts, ReservationStore } from './store.js';

export type { StartAdmission, FlavorsApi, FlavorsView, FlavorView, OutpostFlavor } from './admission.js';
export { FlavorAdmission } from './admission.js';
export { FlavorsConfigSchema, flavorProblems } from './settings.js';

export interface FlavorsDeps {
  config: () => Config;
  gateway: KubeGateway;
  /** Where the services (and so their anchors and the flavor books) are. */
  namespace: string;
  /** DEPLOYMENT_NAME. */
  instance: string;
  logger: AppLogger;
  /** From the anchors' watch cache: true when this start surely has an anchor (spares a list when pruning). */
  hasAnchor?: (credential: string, servername: string, startId: string) => boolean;
  onRejected?: (credential: string, flavor: string, reason: RefusalReason) => void;
  /** With replicas: true on the leader, which alone runs the periodic pruning. */
  leading?: () => boolean;
  /** The environment (a credential's push_token_env). */
  lookupEnv?: (name: string) => string | undefined;
}

export interface Flavors {
  admission: FlavorAdmission;
  start(): void;
  /** The first list of the flavor books. */
  waitForSync(): Promise<void>;
  stop(): void;
}

export function createFlavors(deps: FlavorsDeps): Flavors {
  const store = new ReservationStore({ gateway: deps.gateway, namespace: deps.namespace, instance: deps.instance });
  const pusher = new UsagePusher({ logger: deps.logger });
  const admission = new FlavorAdmission({
    config: deps.config,
    store,
    logger: deps.logger,
    pusher,
    anchoredStarts: (credential) => listAnchoredStarts(deps.gateway, deps.namespace, deps.instance, credential),
    ...(deps.hasAnchor ? { hasAnchor: deps.hasAnchor } : {}),
    ...(deps.onRejected ? { onRejected: deps.onRejected } : {}),
    ...(deps.leading ? { leading: deps.leading } : {}),
    ...(deps.lookupEnv ? { lookupEnv: deps.lookupEnv } : {}),
  });
  return {
    admission,
    start: () => admission.start(),
    waitForSync: () => store.waitForSync(),
    stop: () => admission.stop(),
  };
}
