// Values of a start's Secrets (env, certs), read back from the cluster by a process that
// did not receive the start (another replica, or this one after a restart):
// the hub's status URL and token for progress events, the flavors' push URL
// for the usage push after a stop. One read, only when asked for.
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import type { StartAdmission } from './manager.js';
import type { ServiceRecord } from './types.js';

const SECRET_REF = 'v1|Secret/';

/**
 * The asked-for values of one of the start's Secrets (by default its env
 * Secret, the first it created; else the one named, if the start created it);
 * those missing, or the whole Secret gone, are left out.
 */
export async function readStartSecret(gateway: Pick<KubeGateway, 'read'>, namespace: string, record: ServiceRecord, keys: readonly string[], secretName?: string): Promise<Record<string, string>> {
  const refs = (record.objects ?? []).filter((o) => o.startsWith(SECRET_REF)).map((o) => o.slice(SECRET_REF.length));
  const name = secretName === undefined ? refs[0] : refs.find((n) => n === secretName);
  if (!name || keys.length === 0) return {};
  const secret = await gateway.read<KubeObject & { data?: Record<string, string> }>({
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace },
  }).catch(() => undefined);
  const out: Record<string, string> = {};
  for (const key of keys) {
    const b64 = secret?.data?.[key];
    if (b64 !== undefined) out[key] = Buffer.from(b64, 'base64').toString('utf8');
  }
  return out;
}

/**
 * The env values a start's admission release asks for, read from its env
 * Secret: call it before the workload is removed, so that any replica that
 * ends a start (a stop, the sweeper) releases as the admitting one would.
 */
export async function releaseEnv(admission: Pick<StartAdmission, 'releaseEnvKeys'> | undefined, gateway: Pick<KubeGateway, 'read'>, namespace: string, record: ServiceRecord): Promise<Record<string, string> | undefined> {
  const keys = admission?.releaseEnvKeys?.(record.jhub_credential) ?? [];
  return keys.length ? readStartSecret(gateway, namespace, record, keys) : undefined;
}
