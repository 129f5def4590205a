// The handler configuration as ONE ConfigMap in the manager's namespace: one
// data key per handler type holding its configuration as JSON. Writes are
// read-modify-replace with the object's resourceVersion and are retried on a
// conflict, so two replicas changing it at once both land or fail cleanly.
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { statusOf } from '../kube/errors.js';
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
    return this.gateway.read<ConfigMapObject>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: this.name, namespace: this.namespace } });
  }

  /**
   * Applies `change` to the stored handlers (`fallback` when no ConfigMap exists)
   * and writes the result; `change` runs again on the fresh state after a conflict
   * and may throw (an HttpError) to refuse the change. Returns the written object.
   */
  async update(fallback: HandlerConfigs, change: (current: HandlerConfigs) => HandlerConfigs): Promise<ConfigMapObject> {
    let lastConflict = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const existing = await this.read();
      const current = existing ? parseConfigMap(existing).configs : structuredClone(fallback);
      const data = toData(change(current));
      if (!existing) {
        const result = await this.gateway.create<ConfigMapObject>(this.#object(data));
        if (result.created) return result.object;
        lastConflict = 'created by someone else meanwhile';
        continue;
      }
      const body: ConfigMapObject = this.#object(data, existing);
      try {
        return (await this.gateway.call('replace', 'ConfigMap', () =>
          this.gateway.core.replaceNamespacedConfigMap({ name: this.name, namespace: this.namespace, body: body as never, fieldManager: this.gateway.fieldManager }),
        )) as unknown as ConfigMapObject;
      } catch (err) {
        const status = statusOf(err);
        // 409: changed by someone else since we read it; 404: deleted meanwhile.
        if (status !== 409 && status !== 404) throw err;
        lastConflict = status === 409 ? 'changed by someone else meanwhile' : 'deleted meanwhile';
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt) * Math.random()));
    }
    throw new Error(`ConfigMap ${this.namespace}/${this.name}: gave up after ${this.maxAttempts} attempts (${lastConflict})`);
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
