// The handler configuration as ONE ConfigMap in the manager's namespace: one
// data key per handler type holding its configuration as JSON. Writes are the
// gateway's read-modify-replace with the object's resourceVersion, retried on
// a conflict, so two replicas changing it at once both land or fail cleanly.
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { HANDLER_TYPES, validate, type HandlerConfigs, type HandlerType } from './handler-config.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'k8smgr', 'app.kubernetes.io/component': 'logging' } as const;
export const LOGGING_SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}

export interface Parsed {
  configs: HandlerConfigs;
  /** Entries of the ConfigMap that are not a valid handler configuration. */
  invalid: Partial<Record<HandlerType, string>>;
}

/** Reads the handlers out of the ConfigMap's data (invalid entries are reported, not applied). */
export function parseConfigMap(obj: ConfigMapObject): Parsed {
  const configs: HandlerConfigs = {};
  const invalid: Parsed['invalid'] = {};
  for (const type of HANDLER_TYPES) {
    const text = obj.data?.[type];
    if (text === undefined) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      invalid[type] = `configuration in ConfigMap key ${type} is not JSON: ${(err as Error).message}`;
      continue;
    }
    const checked = validate(type, value);
    if (checked.ok) configs[type] = checked.config;
    else invalid[type] = checked.errors.join('; ');
  }
  return { configs, invalid };
}

export function toData(configs: HandlerConfigs): Record<string, string> {
  const data: Record<string, string> = {};
  for (const type of HANDLER_TYPES) {
    const config = configs[type];
    if (config) data[type] = JSON.stringify(config);
  }
  return data;
}

export class LoggingConfigStore {
  constructor(
    private readonly gateway: KubeGateway,
    readonly namespace: string,
    readonly name: string,
    private readonly maxAttempts = 10,
  ) {}

  read(): Promise<ConfigMapObject | undefined> {
    return this.gateway.read<ConfigMapObject>(this.#ref());
  }

  /**
   * Applies `change` to the stored handlers (`fallback` when no ConfigMap exists)
   * and writes the result; `change` runs again on the fresh state after a conflict
   * and may throw (an HttpError) to refuse the change. Returns the written object.
   */
  async update(fallback: HandlerConfigs, change: (current: HandlerConfigs) => HandlerConfigs): Promise<ConfigMapObject> {
    const written = await this.gateway.update<ConfigMapObject>(this.#ref(), (existing) => {
      const current = existing ? parseConfigMap(existing).configs : structuredClone(fallback);
      return this.#object(toData(change(current)), existing);
    }, { attempts: this.maxAttempts });
    // change() always gives an object to write, so something was written.
    if (!written) throw new Error(`ConfigMap ${this.namespace}/${this.name}: nothing written`);
    return written;
  }

  #ref() {
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: this.name, namespace: this.namespace } };
  }

  #object(data: Record<string, string>, existing?: ConfigMapObject): ConfigMapObject {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...(existing?.metadata ?? {}),
        name: this.name,
        namespace: this.namespace,
        labels: { ...(existing?.metadata.labels ?? {}), ...MANAGED_BY },
        ...(existing ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      data,
    };
  }
}
