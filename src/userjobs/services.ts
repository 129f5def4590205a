// The userjob Services of the namespace as this process sees them: the watch
// cache indexed by userjob key, with what this process wrote or deleted laid
// over it until the watch catches up. Every replica reads its answers here;
// the manager decides what to write.
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { OwnWrites } from '../kube/own-writes.js';
import { Reflector } from '../kube/reflector.js';
import { instanceSelector, LABELS } from '../services/anchor.js';
import { readUserjob, USERJOB_ROLE, userjobKey } from './objects.js';

export interface UserjobServicesOptions {
  gateway: KubeGateway;
  namespace: string;
  deploymentName: string;
  /** A userjob's Service appeared, changed or went (from the watch). */
  onChange: (key: string) => void;
}

export class UserjobServices {
  readonly #gateway: KubeGateway;
  readonly #namespace: string;
  readonly #watch: Reflector<KubeObject>;
  /** userjob key -> Service name, from the watch. */
  readonly #names = new Map<string, string>();
  /** Services this process wrote or deleted that the watch may not have delivered yet, by userjob key. */
  readonly #own = new OwnWrites<KubeObject>((svc) => svc, { bridgeMs: 60_000 });

  constructor(opts: UserjobServicesOptions) {
    this.#gateway = opts.gateway;
    this.#namespace = opts.namespace;
    this.#watch = new Reflector<KubeObject>(opts.gateway, {
      name: 'userjob Services', apiVersion: 'v1', kind: 'Service', plural: 'services', namespace: opts.namespace,
      labelSelector: `${instanceSelector(opts.deploymentName)},${LABELS.role}=${USERJOB_ROLE}`,
    }, {
      onUpsert: (svc, previous) => {
        if (previous) this.#unindex(previous);
        const key = this.#index(svc);
        if (key) opts.onChange(key);
      },
      onDelete: (svc) => {
        const key = this.#unindex(svc);
        if (key) opts.onChange(key);
      },
    });
  }

  /** The userjob key a Service belongs to (none for a Service that is no userjob's). */
  static #keyOf(svc: KubeObject): string | undefined {
    const r = readUserjob(svc);
    return r ? userjobKey(r.jhub_credential, r.service) : undefined;
  }

  #index(svc: KubeObject): string | undefined {
    const key = UserjobServices.#keyOf(svc);
    if (key) this.#names.set(key, svc.metadata.name);
    return key;
  }

  #unindex(svc: KubeObject): string | undefined {
    const key = UserjobServices.#keyOf(svc);
    if (key && this.#names.get(key) === svc.metadata.name) this.#names.delete(key);
    return key;
  }

  /** The freshest Service of a userjob: the watch's, or the one this process just wrote. */
  current(key: string): KubeObject | undefined {
    const name = this.#names.get(key);
    return this.#own.view(key, name ? this.#watch.get(name) : undefined);
  }

  /** Every userjob key known, from the watch or from this process's writes. */
  keys(): Set<string> {
    return new Set([...this.#names.keys(), ...this.#own.keys()]);
  }

  /** Userjobs the watch shows. */
  get size(): number {
    return this.#names.size;
  }

  get synced(): boolean {
    return this.#watch.status.synced;
  }

  /** The watched Services (not this process's unseen writes). */
  watched(): IterableIterator<KubeObject> {
    return this.#watch.values();
  }

  /** Local ports that userjob Services hold, seen or just written. */
  usedPorts(): number[] {
    const used: number[] = [];
    for (const svc of [...this.#watch.values(), ...this.#own.values()]) for (const f of readUserjob(svc)?.forwards ?? []) used.push(f.localPort);
    return used;
  }

  /** Records a Service this process has just applied. */
  wrote(key: string, svc: KubeObject): void {
    this.#own.wrote(key, svc);
  }

  /** Forgets this process's write of a userjob (the watch's answer counts again). */
  forget(key: string): void {
    this.#own.forget(key);
  }

  /** Deletes a userjob's Service (this very one: by uid) and stops showing it. */
  async delete(key: string, svc: KubeObject): Promise<void> {
    await this.#gateway.delete({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc.metadata.name, namespace: this.#namespace, uid: svc.metadata.uid } });
    this.#own.deleted(svc.metadata.uid);
    this.#own.forget(key);
  }

  start(): void {
    this.#watch.start();
  }

  waitForSync(): Promise<void> {
    return this.#watch.waitForSync();
  }

  stop(): void {
    this.#watch.stop();
  }
}
