// Loads the cluster connection: $KUBECONFIG (or the given file), else the
// in-cluster service account, else ~/.kube/config.
import * as k8s from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfigPath?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured: set KUBECONFIG or run inside a cluster');
  return kc;
}
