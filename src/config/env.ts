// The only place that reads process.env: the environment is parsed once into a
// frozen object and passed on.
import { hostname } from 'node:os';
export interface ManagerEnv {
  configPath: string | undefined;
  stage: string;
  /** Name of the manager's Deployment: part of Secret names and the userjob Services' selector. */
  deploymentName: string;
  /** Namespace where user services are created. */
  serviceNamespace: string;
  /** Namespace of the manager itself: credentials Secret and logging ConfigMap. */
  managerNamespace: string;
  sshConfigFile: string | undefined;
  kubeconfig: string | undefined;
  host: string;
  port: number;
  /** When set, /metrics is served on this port only (not on the API port). */
  metricsPort: number | undefined;
  /**
   * This replica's name (the pod name, POD_NAME or HOSTNAME), as operators see it. Not unique:
   * two processes may share it (one host, a reused pod name); each process adds a random id of
   * its own (kube/identity.ts) wherever "which process" decides something.
   */
  replica: string;
  /** Leader election and presence timings (LEASE_DURATION_SECONDS, LEASE_RENEW_DEADLINE_SECONDS, LEASE_RETRY_PERIOD_SECONDS). */
  lease: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** Values of `<CRED>_USER_PASS` and other variables looked up by name (start-up users, tunnel auth). */
  lookup: (name: string) => string | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): ManagerEnv {
  const serviceNamespace = env.DEPLOYMENT_NAMESPACE || env.POD_NAMESPACE || 'default';
  const port = portNumber('PORT', env.PORT ?? '8080');
  const metricsPort = env.METRICS_PORT ? portNumber('METRICS_PORT', env.METRICS_PORT) : undefined;
  const snapshot = { ...env };
  return Object.freeze({
    configPath: env.CONFIG_PATH || undefined,
    stage: env.STAGE ?? '',
    deploymentName: env.DEPLOYMENT_NAME || 'k8smgr',
    serviceNamespace,
    managerNamespace: env.MANAGER_NAMESPACE || env.POD_NAMESPACE || serviceNamespace,
    sshConfigFile: env.SSHCONFIGFILE || undefined,
    kubeconfig: env.KUBECONFIG || undefined,
    host: env.HOST || '0.0.0.0',
    port,
    metricsPort,
    replica: env.POD_NAME || env.HOSTNAME || hostname(),
    lease: leaseTimings(env),
    lookup: (name: string) => snapshot[name],
  });
}

function portNumber(name: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return port;
}

/**
 * client-go's leader election timings (15 s, 10 s, 2 s by default), checked as
 * client-go checks them: the duration (whole seconds, as the Lease stores it)
 * longer than the renew deadline, the deadline longer than 1.2 retry periods
 * (the candidates' jitter).
 */
function leaseTimings(env: NodeJS.ProcessEnv): ManagerEnv['lease'] {
  const seconds = (name: string, fallback: number, whole = false): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (whole && !Number.isInteger(value))) {
      throw new Error(`${name} must be a positive ${whole ? 'whole ' : ''}number of seconds, got "${raw}"`);
    }
    return value;
  };
  const duration = seconds('LEASE_DURATION_SECONDS', 15, true);
  const deadline = seconds('LEASE_RENEW_DEADLINE_SECONDS', 10);
  const retry = seconds('LEASE_RETRY_PERIOD_SECONDS', 2);
  if (duration <= deadline) throw new Error(`LEASE_DURATION_SECONDS (${duration}) must be longer than LEASE_RENEW_DEADLINE_SECONDS (${deadline})`);
  if (deadline <= 1.2 * retry) throw new Error(`LEASE_RENEW_DEADLINE_SECONDS (${deadline}) must be longer than 1.2 x LEASE_RETRY_PERIOD_SECONDS (${retry})`);
  return Object.freeze({ leaseDurationMs: duration * 1000, renewDeadlineMs: Math.round(deadline * 1000), retryPeriodMs: Math.round(retry * 1000) });
}

/** `<CREDENTIAL>_USER_PASS`: upper case, characters not allowed in a variable name become `_`. */
export function userPassVariable(credential: string): string {
  return `${credential.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_USER_PASS`;
}
