// Rules on a user's identity: which rule of a credential holds for the
// `authentication` dict a hub sends (OutpostSpawner: name, groups, access
// token, ...). Pure.
import { matchesPattern, type FlavorRule, type MatchValue } from './settings.js';

/** The user's identity as the hub describes it: keys to a value or a list of values. */
export type Authentication = Readonly<Record<string, unknown>>;

/** Python's fnmatch (`*`, `?`, `[seq]`, `[!seq]`) as a regular expression over the whole value. */
function fnmatchRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      out += `[${set}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\/-]/g, '\\$&');
  }
  return new RegExp(`^(?:${out})$`, 's');
}

/** A JupyterHub Outpost's test of one value: regular expression over the whole value, else fnmatch, else equality. */
export function outpostMatch(pattern: string, value: string): boolean {
  try {
    if (new RegExp(`^(?:${pattern})$`).test(value)) return true;
  } catch {
    // Not a regular expression (for JavaScript): the other two tests decide.
  }
  return fnmatchRegExp(pattern).test(value) || pattern === value;
}

function valueMatches(how: MatchValue, value: string): boolean {
  if (Array.isArray(how)) return how.includes(value);
  if (typeof how === 'object') return outpostMatch(how.outpost, value);
  return matchesPattern(how, value);
}

/** One key: the user's value, or any of the user's values (a list, e.g. groups), matches. */
function keyMatches(how: MatchValue, value: unknown): boolean {
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && valueMatches(how, String(v)));
}

/** Whether a rule holds for this user: its keys (any or all of them) match, inverted by `negate`. */
export function ruleHolds(rule: FlavorRule, auth: Authentication): boolean {
  const keys = Object.entries(rule.match);
  const test = ([key, how]: [string, MatchValue]) => key in auth && keyMatches(how, auth[key]);
  const matched = keys.length > 0 && (rule.require === 'all' ? keys.every(test) : keys.some(test));
  return rule.negate ? !matched : matched;
}

/** The rule that applies: of those that hold, the heaviest; on a tie the later one. None without an identity. */
export function selectRule(rules: readonly FlavorRule[] | undefined, auth: Authentication | undefined): { rule: FlavorRule; index: number } | undefined {
  if (!rules?.length || !auth || Object.keys(auth).length === 0) return undefined;
  let best: { rule: FlavorRule; index: number } | undefined;
  rules.forEach((rule, index) => {
    if (!ruleHolds(rule, auth)) return;
    if (!best || (rule.weight ?? 0) >= (best.rule.weight ?? 0)) best = { rule, index };
  });
  return best;
}
