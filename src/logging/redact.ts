// Secret masking applied by the logger itself to every record, so no call site
// has to remember it: values under secret-looking keys are replaced, and the
// env of a start body is never logged whole.
const SECRET_KEY = /pass(word)?|token|secret|authori[sz]ation|authentication|cookie|certs?$|certfile|keyfile|cafile|_data$|^env$|private|credential_password/i;
export const MASK = '***';

/** Returns a copy of `value` with secret-looking keys masked (depth-limited, cycle-safe). */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8 || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && inner !== undefined && inner !== null && inner !== '' ? MASK : redact(inner, depth + 1, seen);
  }
  return out;
}

/** Masks credentials embedded in a free-text message (Basic/Bearer/token headers). */
export function redactText(text: string): string {
  return text.replace(/\b(Basic|Bearer|token)\s+[A-Za-z0-9+/=._~-]{6,}/g, `$1 ${MASK}`);
}
