// Where the hub reaches an Outpost start: `host:port` of a Service the
// template makes, the answer of a start (`{"service": "host:port"}`). Pure.
import { invalidInput } from '../errors.js';
import type { KubeObject } from '../kube/objects.js';

/** On a template's Service: this one is the hub's way in (value: empty, or the port's name or number). */
export const ADDRESS_ANNOTATION = 'k8smgr.io/outpost-address';

/** KubeSpawner's default, when the hub sends no `misc.dns_name_template`. */
export const DEFAULT_DNS_NAME_TEMPLATE = '{name}.{namespace}.svc';

interface ServicePort {
  name?: string;
  port?: number;
}

interface ServiceObject extends KubeObject {
  spec?: { ports?: ServicePort[] };
}

/** `{name}` and `{namespace}` of the template filled; undefined unless the result is a plain host name. */
function hostFrom(template: string, name: string, namespace: string): string | undefined {
  const host = template.replaceAll('{name}', name).replaceAll('{namespace}', namespace);
  return /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(host) ? host : undefined;
}

/**
 * The address of a start: the Service annotated {@link ADDRESS_ANNOTATION}, else
 * the template's first Service; its port named by the annotation, else the one
 * equal to the hub's port, else its first. The host follows the hub's
 * `dns_name_template`. Refuses (DomainError invalid_input) a template without a
 * Service or port.
 */
export function serviceAddress(objects: readonly KubeObject[], opts: { namespace: string; port?: number | undefined; dnsNameTemplate?: string | undefined }): string {
  const services = objects.filter((o): o is ServiceObject => o.kind === 'Service' && o.apiVersion === 'v1');
  const chosen = services.find((s) => s.metadata.annotations?.[ADDRESS_ANNOTATION] !== undefined) ?? services[0];
  if (!chosen) throw invalidInput('The template of this service creates no Service for the hub to reach it (see docs/outpost.md)');
  const ports = chosen.spec?.ports ?? [];
  const wanted = chosen.metadata.annotations?.[ADDRESS_ANNOTATION] ?? '';
  const port = (wanted ? ports.find((p) => p.name === wanted || String(p.port) === wanted) : undefined)
    ?? ports.find((p) => opts.port !== undefined && p.port === opts.port)
    ?? ports[0];
  if (!port?.port) throw invalidInput(`Service ${chosen.metadata.name} of this template has no port for the hub`);
  const namespace = chosen.metadata.namespace ?? opts.namespace;
  const host = hostFrom(opts.dnsNameTemplate ?? DEFAULT_DNS_NAME_TEMPLATE, chosen.metadata.name, namespace)
    ?? hostFrom(DEFAULT_DNS_NAME_TEMPLATE, chosen.metadata.name, namespace) as string;
  return `${host}:${port.port}`;
}
