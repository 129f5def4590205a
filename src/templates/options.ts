/**
 * User options (our extension): a template may declare, in `options.yaml` beside it,
 * which `user_options` keys it uses:
 *
 *   flavor: { pattern: "^(small|large)$", default: "small" }
 *   image_tag: {}                     # default pattern, required
 *
 * Only declared keys are replaced, and only with plain scalars that cannot add YAML
 * structure (these values come from a user's form). Pure.
 */
import { parseDocument } from 'yaml';
import { TemplateError } from './errors.js';

export const DEFAULT_OPTION_PATTERN = '^[A-Za-z0-9._/:@+=-]{0,253}$';
export const OPTION_KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;
const MAX_VALUE_LENGTH = 1024;

export interface DeclaredOption {
  pattern: RegExp;
  default?: string | undefined;
}

export type DeclaredOptions = Map<string, DeclaredOption>;

function anchored(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

/**
 * Why `value` could add YAML structure (or break out of a quoted scalar), or null when
 * it is a safe plain scalar. Applies on top of any declared pattern.
 */
export function unsafeScalarReason(value: string, indicators?: readonly string[]): string | null {
  if (value.length > MAX_VALUE_LENGTH) return `longer than ${MAX_VALUE_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\u2028\u2029\u0085]/.test(value)) return 'contains a line break or control character';
  if (/["'`\\]/.test(value)) return 'contains a quote or backslash';
  if (/[#{}[\],]/.test(value)) return 'contains one of # { } [ ] ,';
  if (/:(\s|$)/.test(value) || /\s-\s/.test(value)) return 'contains a YAML mapping or sequence indicator';
  if (/^[-*&!|>%@?:~]/.test(value)) return 'starts with a YAML indicator character';
  if (/^\s|\s$/.test(value)) return 'starts or ends with white space';
  if (value === '---' || value === '...') return 'is a document marker';
  for (const ind of indicators ?? []) {
    if (ind !== '' && value.includes(ind)) return 'contains a replacement indicator';
  }
  return null;
}

/** Parses and checks options.yaml. Missing/empty file → no declared options. */
export function parseOptionsYaml(text: string | undefined, keywordNames: readonly string[] = []): DeclaredOptions {
  const out: DeclaredOptions = new Map();
  if (text === undefined) return out;
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new TemplateError('parse', `options.yaml: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  const data: unknown = doc.toJS({ maxAliasCount: 50 });
  if (data === null || data === undefined) return out;
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new TemplateError('bad_object', 'options.yaml must be a mapping of option names');
  }
  for (const [key, raw] of Object.entries(data as Record<string, unknown>)) {
    if (!OPTION_KEY_RE.test(key)) throw new TemplateError('bad_object', `options.yaml: invalid option name ${JSON.stringify(key)}`);
    if (keywordNames.includes(key)) {
      throw new TemplateError('bad_object', `options.yaml: option ${key} has the name of a keyword`);
    }
    const decl = raw ?? {};
    if (typeof decl !== 'object' || Array.isArray(decl)) {
      throw new TemplateError('bad_object', `options.yaml: option ${key} must be a mapping`);
    }
    const { pattern, default: def, ...rest } = decl as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new TemplateError('bad_object', `options.yaml: option ${key} has unknown field ${extra[0]}`);
    if (pattern !== undefined && typeof pattern !== 'string') {
      throw new TemplateError('bad_object', `options.yaml: pattern of ${key} must be a string`);
    }
    let re: RegExp;
    try {
      re = anchored(pattern ?? DEFAULT_OPTION_PATTERN);
    } catch (e) {
      throw new TemplateError('bad_object', `options.yaml: invalid pattern of ${key}: ${(e as Error).message}`);
    }
    let defStr: string | undefined;
    if (def !== undefined && def !== null) {
      if (typeof def !== 'string' && typeof def !== 'number' && typeof def !== 'boolean') {
        throw new TemplateError('bad_object', `options.yaml: default of ${key} must be a scalar`);
      }
      defStr = String(def);
      const why = unsafeScalarReason(defStr);
      if (why !== null || !re.test(defStr)) {
        throw new TemplateError('bad_object', `options.yaml: default of ${key} is not allowed (${why ?? 'does not match its pattern'})`);
      }
    }
    out.set(key, { pattern: re, default: defStr });
  }
  return out;
}

/**
 * The replacement values for the declared options from the user's `user_options`.
 * Undeclared keys are ignored. TemplateError('bad_value') naming the key when a value is
 * missing (and has no default), not a scalar, unsafe, or does not match the pattern.
 */
export function resolveUserOptions(
  declared: DeclaredOptions,
  userOptions: Readonly<Record<string, unknown>> | undefined,
  indicators?: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, decl] of declared) {
    const has = userOptions !== undefined && Object.prototype.hasOwnProperty.call(userOptions, key);
    const raw = has ? userOptions[key] : undefined;
    let value: string;
    if (raw === undefined || raw === null) {
      if (decl.default === undefined) throw new TemplateError('bad_value', `Missing user option: ${key}`);
      value = decl.default;
    } else if (typeof raw === 'string' || typeof raw === 'boolean' || (typeof raw === 'number' && Number.isFinite(raw))) {
      value = String(raw);
    } else {
      throw new TemplateError('bad_value', `User option ${key} must be a string, number or boolean`);
    }
    const why = unsafeScalarReason(value, indicators);
    if (why !== null) throw new TemplateError('bad_value', `User option ${key} is not allowed: ${why}`);
    if (!decl.pattern.test(value)) throw new TemplateError('bad_value', `User option ${key} does not match its pattern`);
    out.set(key, value);
  }
  return out;
}
