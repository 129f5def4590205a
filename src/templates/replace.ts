/**
 * The replacement table and text rendering of a template. Pure.
 *
 * Passes, in the contract's order, each over the whole text, replacing
 * `<open><key><close>`:
 *   1. keywords (id, unique_user_id, user_id, secret_name, secret_certs_name, namespace,
 *      input; names configurable),
 *   2. replace.stage_credential[STAGE][credential],
 *   3. replace.stage[STAGE],
 *   4. replace.credential[credential],
 *   5. declared user options (our extension; last, so a user's value is never scanned
 *      again).
 * Within one pass every token is replaced once (values inserted by a pass are only seen
 * by later passes). Unknown `<foo>` text is left alone; a known key still present at
 * the end is an error ('unreplaced').
 */
import { TemplateError } from './errors.js';
import { resolveUserOptions, type DeclaredOptions } from './options.js';

export const KEYWORDS = ['id', 'unique_user_id', 'user_id', 'secret_name', 'secret_certs_name', 'namespace', 'input'] as const;
export type Keyword = (typeof KEYWORDS)[number];
export type KeywordValues = Record<Keyword, string>;
export type KeywordNames = Record<Keyword, string>;

export const DEFAULT_KEYWORD_NAMES: Readonly<KeywordNames> = {
  id: 'id',
  unique_user_id: 'unique_user_id',
  user_id: 'user_id',
  secret_name: 'secret_name',
  secret_certs_name: 'secret_certs_name',
  namespace: 'namespace',
  input: 'input',
};

/** config `services.replace.<key>` holding each keyword's name */
export const KEYWORD_CONFIG_KEYS: Readonly<Record<Keyword, string>> = {
  id: 'drfid_keyword',
  unique_user_id: 'uniqueuserid_keyword',
  user_id: 'userid_keyword',
  secret_name: 'secretname_keyword',
  secret_certs_name: 'secretcertsname_keyword',
  namespace: 'namespace_keyword',
  input: 'input_keyword',
};

export const DEFAULT_INDICATORS: readonly [string, string] = ['<', '>'];

export type ReplaceMap = Readonly<Record<string, unknown>>;

export interface ReplaceInput {
  /** `[open, close]`, default `["<", ">"]` */
  indicators?: readonly string[] | undefined;
  /** keyword names (default: the keyword itself) */
  keywordNames?: Partial<KeywordNames> | undefined;
  keywords: KeywordValues;
  stage?: string | undefined;
  credential: string;
  /** config replace.stage: stage → key → value */
  replaceStage?: Readonly<Record<string, unknown>> | undefined;
  /** config replace.credential: credential → key → value */
  replaceCredential?: Readonly<Record<string, unknown>> | undefined;
  /** config replace.stage_credential: stage → credential → key → value */
  replaceStageCredential?: Readonly<Record<string, unknown>> | undefined;
  userOptions?: Readonly<Record<string, unknown>> | undefined;
  declaredOptions?: DeclaredOptions | undefined;
}

/** `<credential>_<user_id>` */
export function uniqueUserId(credential: string, userId: string | number): string {
  return `${credential}_${String(userId)}`;
}

/** Keyword names from config `services.replace` (missing/empty → default). */
export function keywordNamesFromConfig(replaceCfg: Readonly<Record<string, unknown>> | undefined): KeywordNames {
  const out = { ...DEFAULT_KEYWORD_NAMES };
  for (const k of KEYWORDS) {
    const v = replaceCfg?.[KEYWORD_CONFIG_KEYS[k]];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

export function checkIndicators(indicators: readonly string[] | undefined): readonly [string, string] {
  if (indicators === undefined) return DEFAULT_INDICATORS;
  const [open, close] = indicators;
  if (indicators.length !== 2 || typeof open !== 'string' || typeof close !== 'string' || open === '' || close === '') {
    throw new TemplateError('bad_object', 'services.replace.indicators must be two non-empty strings');
  }
  return [open, close];
}

/** Admin-written config value as text: scalars stringified, null → "", others as JSON. */
export function configValueToString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return '';
  return JSON.stringify(v);
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function tableOf(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, val] of Object.entries(asRecord(v))) out.set(k, configValueToString(val));
  return out;
}

/** The replacement tables (key → value) in pass order. */
export function buildReplacementTables(input: ReplaceInput): Map<string, string>[] {
  const names = { ...DEFAULT_KEYWORD_NAMES, ...input.keywordNames };
  const keywords = new Map<string, string>();
  for (const k of KEYWORDS) keywords.set(names[k], input.keywords[k]);
  const stage = input.stage ?? '';
  const stageCredential = stage === '' ? new Map<string, string>() : tableOf(asRecord(asRecord(input.replaceStageCredential)[stage])[input.credential]);
  const stageTable = stage === '' ? new Map<string, string>() : tableOf(asRecord(input.replaceStage)[stage]);
  const credential = tableOf(asRecord(input.replaceCredential)[input.credential]);
  const indicators = checkIndicators(input.indicators);
  const user = input.declaredOptions
    ? resolveUserOptions(input.declaredOptions, input.userOptions, indicators)
    : new Map<string, string>();
  return [keywords, stageCredential, stageTable, credential, user];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** One pass: replaces every `<open>key<close>` of `table` (longest keys first). */
export function applyTable(text: string, table: ReadonlyMap<string, string>, indicators: readonly [string, string]): string {
  if (table.size === 0) return text;
  const [open, close] = indicators;
  const keys = [...table.keys()].filter((k) => k !== '').sort((a, b) => b.length - a.length);
  if (keys.length === 0) return text;
  const re = new RegExp(`${escapeRe(open)}(${keys.map(escapeRe).join('|')})${escapeRe(close)}`, 'g');
  // a function replacement: `$&` etc. in values stay literal
  return text.replace(re, (_m, key: string) => table.get(key) as string);
}

/** Every key this configuration knows (for the unreplaced check): keywords, all config tables of any stage/credential, declared options. */
export function knownKeys(input: ReplaceInput): Set<string> {
  const names = { ...DEFAULT_KEYWORD_NAMES, ...input.keywordNames };
  const keys = new Set<string>(KEYWORDS.map((k) => names[k]));
  for (const perStage of Object.values(asRecord(input.replaceStage))) for (const k of Object.keys(asRecord(perStage))) keys.add(k);
  for (const perCred of Object.values(asRecord(input.replaceCredential))) for (const k of Object.keys(asRecord(perCred))) keys.add(k);
  for (const perStage of Object.values(asRecord(input.replaceStageCredential))) {
    for (const perCred of Object.values(asRecord(perStage))) for (const k of Object.keys(asRecord(perCred))) keys.add(k);
  }
  for (const k of input.declaredOptions?.keys() ?? []) keys.add(k);
  return keys;
}

/** Known keys whose token is still in `text`, sorted. */
export function findUnreplaced(text: string, keys: Iterable<string>, indicators: readonly [string, string]): string[] {
  const [open, close] = indicators;
  return [...keys].filter((k) => k !== '' && text.includes(`${open}${k}${close}`)).sort();
}

/** Renders `text`: all passes, then the unreplaced check (TemplateError('unreplaced')). */
export function renderText(text: string, input: ReplaceInput): string {
  const indicators = checkIndicators(input.indicators);
  let out = text;
  for (const table of buildReplacementTables(input)) out = applyTable(out, table, indicators);
  const left = findUnreplaced(out, knownKeys(input), indicators);
  if (left.length > 0) {
    const [open, close] = indicators;
    throw new TemplateError('unreplaced', `No value for ${left.map((k) => `${open}${k}${close}`).join(', ')} in this stage/credential`);
  }
  return out;
}
