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
  /** This replica's name (the pod name, POD_NAME or HOSTNAME): who took a start, who holds the lease. */
  replica: string;
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
    lookup: (name: string) => snapshot[name],
  });
}

function portNumber(name: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return port;
}

/** `<CREDENTIAL>_USER_PASS`: upper case, characters not allowed in a variable name become `_`. */
export function userPassVariable(credential: string): string {
  return `${credential.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_USER_PASS`;
}
