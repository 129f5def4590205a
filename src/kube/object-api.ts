// KubernetesObjectApi that sends one discovery request per API group version at
// a time. client-node 1.3.0 looks up every object's resource (namespaced or not)
// in a cache of APIResourceLists that is filled only once a discovery request
// has come back, so N calls that start together before that (a start storm
// right after the manager started) each send their own GET /api/v1 or
// /apis/apps/v1: measured by the bench as one extra apiserver request per start
// (300 starts at once: 296 discovery requests besides the 1,200 writes). Here a
// miss waits for the request already in flight for that apiVersion.
import * as k8s from '@kubernetes/client-node';

export class SharedDiscoveryObjectApi extends k8s.KubernetesObjectApi {
  readonly #inflight = new Map<string, Promise<k8s.V1APIResource | undefined>>();

  static forConfig(kc: k8s.KubeConfig): SharedDiscoveryObjectApi {
    const client = kc.makeApiClient(SharedDiscoveryObjectApi);
    client.setDefaultNamespace(kc);
    return client;
  }

  protected override async resource(apiVersion: string, kind: string, options?: k8s.Configuration): Promise<k8s.V1APIResource | undefined> {
    if (options || this.apiVersionResourceCache[apiVersion]) return super.resource(apiVersion, kind, options);
    const pending = this.#inflight.get(apiVersion);
    if (pending) {
      await pending.catch(() => undefined);
      // Now a cache hit; or, if that request failed or lacked this kind, a request of its own as before.
      return super.resource(apiVersion, kind);
    }
    const request = super.resource(apiVersion, kind).finally(() => this.#inflight.delete(apiVersion));
    this.#inflight.set(apiVersion, request);
    return request;
  }
}
