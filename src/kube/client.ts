// Loads the cluster connection: $KUBECONFIG (or the given file), else the
// in-cluster service account, else ~/.kube/config. With none of them the
// manager cannot work: it says so once and the caller exits.
import { KubeConfig } from '@kubernetes/client-node';

export const NO_CLUSTER_MESSAGE =
  'no Kubernetes cluster configured: set KUBECONFIG to a kubeconfig file, run inside a cluster (a service account), ' +
  'or provide ~/.kube/config (for a local test cluster: `npm run cluster -- up`, then `export KUBECONFIG=$PWD/.testenv/kubeconfig`)';

export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  // client-node falls back to an unauthenticated http://localhost:8080 when it finds nothing.
  if (!cluster || (!kubeconfigPath && cluster.name === 'cluster' && cluster.server === 'http://localhost:8080' && kc.getCurrentUser()?.name === 'user')) {
    throw new Error(NO_CLUSTER_MESSAGE);
  }
  return kc;
}
