// Where an object of some apiVersion and kind lives: its plural resource name
// and whether it is namespaced, from the apiserver's discovery document of
// that group version (GET /api/v1, /apis/apps/v1, ...). One request per group
// version at a time: N starts right after the manager started share the one in
// flight (the bench measured one extra request per start without that), and a
// kind that is missing (a CRD installed later) is asked for again.
import { KubeApiError, type KubeRest } from './rest.js';

export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

interface ResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export class Discovery {
  readonly #known = new Map<string, Map<string, ResourceInfo>>();
  readonly #inflight = new Map<string, Promise<Map<string, ResourceInfo>>>();

  constructor(private readonly fetchList: (path: string) => Promise<ResourceList>) {}

  static over(rest: KubeRest, call: <T>(fn: () => Promise<T>) => Promise<T>): Discovery {
    return new Discovery((path) => call(() => rest.request<ResourceList>('GET', path)));
  }

  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const hit = this.#known.get(apiVersion)?.get(kind);
    if (hit) return hit;
    const kinds = await this.#load(apiVersion);
    const info = kinds.get(kind);
    if (!info) throw new KubeApiError(404, 'NotFound', `the server has no resource of kind ${kind} in ${apiVersion}`);
    return info;
  }

  #load(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    const pending = this.#inflight.get(apiVersion);
    if (pending) return pending;
    const request = this.fetchList(groupVersionPath(apiVersion))
      .then((list) => {
        const kinds = new Map<string, ResourceInfo>();
        // Subresources (pods/log, deployments/scale) share the kind of their parent: skip them.
        for (const r of list.resources ?? []) if (!r.name.includes('/')) kinds.set(r.kind, { plural: r.name, namespaced: r.namespaced });
        this.#known.set(apiVersion, kinds);
        return kinds;
      })
      .finally(() => this.#inflight.delete(apiVersion));
    this.#inflight.set(apiVersion, request);
    return request;
  }
}
