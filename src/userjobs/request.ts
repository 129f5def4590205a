// Parsing and validation of a userjob request (pure). Everything that later
// goes into ssh's argv is checked here: node names are host names or IPv4
// addresses (never starting with "-"), ports are integers 1-65535.
import { SERVERNAME_RE, SERVERNAME_MAX } from '../templates/names.js';

export interface UserjobRequest {
  service: string;
  /** The HPC system as configured (its configured spelling). */
  hostname: string;
  target_node: string;
  /** Port in the user's service -> port on the node. */
  ports: Array<{ servicePort: number; nodePort: number }>;
  jobid: string | undefined;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; status: 400; messages: string[] } | { ok: false; status: 404 };

const REQUIRED = ['service', 'hostname', 'target_node', 'ports'] as const;
const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const NODE_RE = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
const JOBID_RE = /^[A-Za-z0-9_.+-]{1,64}$/;

export function validServiceName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= SERVERNAME_MAX && SERVERNAME_RE.test(s);
}

export function validNode(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 253 && NODE_RE.test(s);
}

/** A port number from a number or a decimal string, else undefined. */
export function portOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,5}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The request, or 400 with the messages (missing keys first, in the order
 * service, hostname, target_node, ports), or 404 when the service name cannot
 * be one of ours. `systems` are the configured HPC systems.
 */
export function parseUserjobRequest(body: unknown, systems: readonly string[], maxPorts: number): Parsed<UserjobRequest> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { ok: false, status: 400, messages: ['The body must be a JSON object.'] };
  const b = body as Record<string, unknown>;
  const missing = REQUIRED.filter((k) => b[k] === undefined || b[k] === null);
  if (missing.length) return { ok: false, status: 400, messages: missing.map((k) => `Missing key: ${k}`) };

  const messages: string[] = [];
  if (typeof b.service !== 'string') messages.push('service must be a string');
  const system = typeof b.hostname === 'string' ? systems.find((s) => s.toLowerCase() === (b.hostname as string).toLowerCase()) : undefined;
  if (!system) {
    messages.push(`Unknown hostname: ${typeof b.hostname === 'string' ? b.hostname.slice(0, 100) : typeof b.hostname}. Configured systems: ${systems.join(', ') || '(none)'}`);
  }
  if (!validNode(b.target_node)) messages.push('target_node must be a host name or IPv4 address');

  const ports: UserjobRequest['ports'] = [];
  if (!b.ports || typeof b.ports !== 'object' || Array.isArray(b.ports)) {
    messages.push('ports must be an object {"<port in service>": "<port on node>"}');
  } else {
    const entries = Object.entries(b.ports as Record<string, unknown>);
    if (entries.length === 0) messages.push('ports must not be empty');
    if (entries.length > maxPorts) messages.push(`ports: at most ${maxPorts} ports per userjob`);
    for (const [key, value] of entries.slice(0, maxPorts)) {
      const servicePort = portOf(key);
      const nodePort = portOf(value);
      if (servicePort === undefined) messages.push(`ports: "${key.slice(0, 20)}" is not a port number (1-65535)`);
      if (nodePort === undefined) messages.push(`ports.${key.slice(0, 20)}: ${JSON.stringify(value)?.slice(0, 20)} is not a port number (1-65535)`);
      if (servicePort !== undefined && nodePort !== undefined) ports.push({ servicePort, nodePort });
    }
  }
  let jobid: string | undefined;
  if (b.jobid !== undefined && b.jobid !== null && b.jobid !== '') {
    const text = typeof b.jobid === 'number' && Number.isInteger(b.jobid) ? String(b.jobid) : b.jobid;
    if (typeof text !== 'string' || !JOBID_RE.test(text)) messages.push('jobid must be a Slurm job id');
    else jobid = text;
  }
  if (messages.length) return { ok: false, status: 400, messages };
  if (!validServiceName(b.service)) return { ok: false, status: 404 };
  ports.sort((a, b2) => a.servicePort - b2.servicePort);
  return { ok: true, value: { service: b.service, hostname: system as string, target_node: b.target_node as string, ports, jobid } };
}
