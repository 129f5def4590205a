// Secret masking applied by the logger itself to every record, so no call site
// has to remember it: values under secret-looking keys are replaced, the env of
// a start body is never logged whole, the data of a Kubernetes Secret is never
// logged, and values registered as secret (SecretValues, e.g. each env value of
// a start body) are masked wherever they appear in a line.
const SECRET_KEY =
  /pass(word)?|token|secret|authori[sz]ation|authentication|cookie|certs?$|certfile|keyfile|cafile|_data$|^env$|private|credential_password|api[-_]?key|^credentials$/i;
export const MASK = '***';

function isSecretObject(value: object): boolean {
  return (value as { kind?: unknown }).kind === 'Secret';
}

/** Returns a copy of `value` with secret-looking keys masked (depth-limited, cycle-safe). */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8 || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: redactText(value.message) };
    if (value.stack) out.stack = redactText(value.stack);
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.cause !== undefined) out.cause = redact(value.cause, depth + 1, seen);
    return out;
  }
  const secretObject = isSecretObject(value);
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const masked = SECRET_KEY.test(key) || (secretObject && (key === 'data' || key === 'stringData'));
    out[key] = masked && inner !== undefined && inner !== null && inner !== '' ? MASK : redact(inner, depth + 1, seen);
  }
  return out;
}

/** Masks credentials embedded in a free-text message (Basic/Bearer/token headers). */
export function redactText(text: string): string {
  return text.replace(/\b(Basic|Bearer|token)\s+[A-Za-z0-9+/=._~-]{6,}/gi, `$1 ${MASK}`);
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Values known to be secret (each env value of a start body, a hub's API token):
 * masked in every serialized log line, under whatever key or inside whatever
 * message they turn up. Bounded (oldest go first) and expiring.
 */
export class SecretValues {
  readonly #expiry = new Map<string, number>();
  #pattern: RegExp | null | undefined;
  #lastPurge = 0;

  constructor(
    private readonly max = 5000,
    /** Shorter values ("1", "true") are too common to mask. */
    private readonly minLength = 6,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#expiry.size;
  }

  /** Registers values (non-strings are ignored) for `ttlMs` (default 30 days). */
  add(values: Iterable<unknown>, ttlMs = 30 * 86_400_000): void {
    const until = this.now() + ttlMs;
    for (const value of values) {
      if (typeof value !== 'string' || value.length < this.minLength) continue;
      this.#expiry.delete(value);
      this.#expiry.set(value, until);
      this.#pattern = undefined;
    }
    while (this.#expiry.size > this.max) {
      const oldest = this.#expiry.keys().next().value as string;
      this.#expiry.delete(oldest);
    }
  }

  delete(values: Iterable<unknown>): void {
    for (const value of values) if (typeof value === 'string' && this.#expiry.delete(value)) this.#pattern = undefined;
  }

  /** `text` with every registered value (raw or JSON-escaped) replaced by the mask. */
  mask(text: string): string {
    if (this.#expiry.size === 0) return text;
    const pattern = this.#compile();
    return pattern ? text.replace(pattern, MASK) : text;
  }

  #compile(): RegExp | null {
    const now = this.now();
    let expired = false;
    if (now - this.#lastPurge >= 60_000) {
      this.#lastPurge = now;
      for (const [value, until] of this.#expiry) {
        if (until <= now) {
          this.#expiry.delete(value);
          expired = true;
        }
      }
    }
    if (this.#pattern !== undefined && !expired) return this.#pattern;
    const forms = new Set<string>();
    for (const value of this.#expiry.keys()) {
      forms.add(value);
      forms.add(JSON.stringify(value).slice(1, -1));
      forms.add(JSON.stringify(JSON.stringify(value)).slice(3, -3));
    }
    const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.#pattern = alternatives.length ? new RegExp(alternatives.join('|'), 'g') : null;
    return this.#pattern;
  }
}
