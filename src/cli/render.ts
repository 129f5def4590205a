// `k8smgr render`: prints the manifests a start would apply, optionally
// validated by the apiserver (server-side dry run). Secrets are shown with
// placeholder values: the real ones come from the hub at start.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { readEnv } from '../config/env.js';
import { ConfigStore } from '../config/store.js';
import { prepareService } from '../services/prepare.js';
import { loadKubeConfig } from '../kube/client.js';
import { KubeGateway, type KubeObject } from '../kube/gateway.js';

export async function runRender(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      credential: { type: 'string' },
      service: { type: 'string' },
      'user-id': { type: 'string', default: '1' },
      servername: { type: 'string', default: 'render-preview' },
      'start-id': { type: 'string', default: '00000000' },
      option: { type: 'string', multiple: true, default: [] },
      'server-dry-run': { type: 'boolean', default: false },
    },
  });
  if (!values.credential || !values.service) {
    console.error('k8smgr render: --credential and --service (TYPE/OPTION) are required');
    return 2;
  }
  const env = readEnv();
  const config = await new ConfigStore(env.configPath).load();
  const userOptions: Record<string, unknown> = { service: values.service };
  for (const pair of values.option ?? []) {
    const [key, ...rest] = pair.split('=');
    if (key) userOptions[key] = rest.join('=');
  }
  const prepared = await prepareService(config, env, {
    credential: values.credential,
    servername: values.servername ?? 'render-preview',
    startId: values['start-id'] ?? '00000000',
    service: values.service,
    userId: Number(values['user-id']),
    userOptions,
  }, 'start');
  const objects = prepared.objects as KubeObject[];
  console.log(objects.map((o) => stringify(o)).join('---\n'));
  if (values['server-dry-run']) {
    const gateway = new KubeGateway(loadKubeConfig(env.kubeconfig), { fieldManager: 'k8smgr' });
    let failed = 0;
    for (const obj of objects) {
      try {
        await gateway.apply(obj, { dryRun: true });
        console.error(`ok      ${obj.kind}/${obj.metadata.name}`);
      } catch (err) {
        failed++;
        console.error(`refused ${(err as Error).message}`);
      }
    }
    return failed ? 1 : 0;
  }
  return 0;
}
