// Values of a start's env Secret, read back from the cluster by a process that
// did not receive the start (another replica, or this one after a restart):
// the hub's status URL and token for progress events, the flavors' push URL
// for the usage push after a stop. One read, only when asked for.
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import type { ServiceRecord } from './types.js';

/** The asked-for values of the start's env Secret; those missing (or the whole Secret gone) are left out. */
export async function readStartEnv(gateway: Pick<KubeGateway, 'read'>, namespace: string, record: ServiceRecord, keys: readonly string[]): Promise<Record<string, string>> {
  const ref = (record.objects ?? []).find((o) => o.startsWith('v1|Secret/'));
  if (!ref || keys.length === 0) return {};
  const secret = await gateway.read<KubeObject & { data?: Record<string, string> }>({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: ref.slice('v1|Secret/'.length), namespace },
  }).catch(() => undefined);
  const out: Record<string, string> = {};
  for (const key of keys) {
    const b64 = secret?.data?.[key];
    if (b64 !== undefined) out[key] = Buffer.from(b64, 'base64').toString('utf8');
  }
  return out;
}
