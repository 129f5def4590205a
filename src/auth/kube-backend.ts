// The credentials document in ONE Secret in the manager's namespace,
// `<DEPLOYMENT_NAME>-credentials`, key `credentials.json`. Watched with a
// Reflector (label selector), written through the gateway with replace +
// resourceVersion so two replicas never overwrite each other's changes
// (conflict: the store re-reads and retries).
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { Reflector } from '../kube/reflector.js';
import type { CredentialBackend, StoredDoc } from './backend.js';
import { DOC_KEY, parseDoc, serializeDoc, type CredentialDoc } from './document.js';

export const CREDENTIALS_LABELS = {
  'app.kubernetes.io/managed-by': 'k8smgr',
  'app.kubernetes.io/component': 'credentials',
} as const;

export function credentialsSecretName(deploymentName: string): string {
  return `${deploymentName}-credentials`;
}

interface SecretObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export interface KubeBackendOptions {
  gateway: KubeGateway;
  namespace: string;
  secretName: string;
  /** Told about entries of the document that could not be read (names only). */
  onProblems?: (problems: string[]) => void;
  watchTimeoutSeconds?: number;
}

export class KubeSecretBackend implements CredentialBackend {
  readonly #opts: KubeBackendOptions;
  #reflector: Reflector<SecretObject> | undefined;

  constructor(opts: KubeBackendOptions) {
    this.#opts = opts;
  }

  get location(): string {
    return `Secret ${this.#opts.namespace}/${this.#opts.secretName}`;
  }

  /** The watch's health (for readiness). */
  get reflector(): Reflector<SecretObject> | undefined {
    return this.#reflector;
  }

  start(onChange: (stored: StoredDoc | undefined) => void): void {
    if (this.#reflector) return;
    const { gateway, namespace, secretName } = this.#opts;
    const mine = (obj: SecretObject) => obj.metadata.name === secretName;
    const reflector: Reflector<SecretObject> = new Reflector<SecretObject>(
      gateway,
      {
        name: 'credentials Secret',
        apiVersion: 'v1',
        kind: 'Secret',
        plural: 'secrets',
        namespace,
        labelSelector: Object.entries(CREDENTIALS_LABELS)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        watchTimeoutSeconds: this.#opts.watchTimeoutSeconds ?? 300,
      },
      {
        onUpsert: (obj) => {
          if (mine(obj)) onChange(this.#decode(obj));
        },
        onDelete: (obj) => {
          if (mine(obj)) onChange(undefined);
        },
        onResync: () => {
          const obj = reflector.get(secretName);
          onChange(obj ? this.#decode(obj) : undefined);
        },
      },
    );
    this.#reflector = reflector;
    reflector.start();
  }

  stop(): void {
    this.#reflector?.stop();
    this.#reflector = undefined;
  }

  async waitForSync(): Promise<void> {
    await this.#reflector?.waitForSync();
  }

  async read(): Promise<StoredDoc | undefined> {
    const obj = await this.#opts.gateway.read<SecretObject>(this.#ref());
    return obj ? this.#decode(obj) : undefined;
  }

  async write(doc: CredentialDoc, expected: string | undefined): Promise<StoredDoc | 'conflict'> {
    const { gateway, namespace, secretName } = this.#opts;
    const body: SecretObject = {
      ...this.#ref(),
      metadata: { name: secretName, namespace, labels: { ...CREDENTIALS_LABELS } },
      type: 'Opaque',
      data: { [DOC_KEY]: Buffer.from(serializeDoc(doc), 'utf8').toString('base64') },
    };
    if (expected === undefined) {
      const result = await gateway.create(body);
      return result.created ? this.#decode(result.object) : 'conflict';
    }
    body.metadata.resourceVersion = expected;
    // 'conflict': someone wrote or deleted it in between; the store reads again.
    const written = await gateway.replace(body);
    return written === 'conflict' || written === 'gone' ? 'conflict' : this.#decode(written);
  }

  #ref() {
    return { apiVersion: 'v1', kind: 'Secret', metadata: { name: this.#opts.secretName, namespace: this.#opts.namespace } };
  }

  #decode(obj: SecretObject): StoredDoc {
    const data = obj.data?.[DOC_KEY];
    const { doc, problems } = parseDoc(data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8'));
    if (problems.length) this.#opts.onProblems?.(problems);
    return { doc, version: obj.metadata.resourceVersion ?? '' };
  }
}
