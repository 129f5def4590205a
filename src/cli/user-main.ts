// Wires `k8smgr user ...` to the credential store in the cluster of KUBECONFIG.
import { readEnv } from '../config/env.js';
import { loadKubeConfig } from '../kube/client.js';
import { KubeGateway } from '../kube/gateway.js';
import { createCredentialStore } from '../auth/store.js';
import { runUserCommand, USER_USAGE } from './user.js';

export async function runUserCli(args: string[]): Promise<number> {
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h') {
    console.log(USER_USAGE.join('\n'));
    return args.length === 0 ? 2 : 0;
  }
  const env = readEnv();
  const gateway = new KubeGateway(loadKubeConfig(env.kubeconfig), { fieldManager: 'k8smgr' });
  const store = createCredentialStore({ gateway, namespace: env.managerNamespace, deploymentName: env.deploymentName });
  // Every command reads the Secret fresh: no watch needed.
  return runUserCommand(args, { store, out: (line) => console.log(line), err: (line) => console.error(line) });
}
