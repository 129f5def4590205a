// Reservations and the capacity decision. Pure.
//
// A credential's reservations live in one ConfigMap (the "book", see
// objects.ts), one data key per start: `<servername>.<start_id>` →
// `{"flavor", "user_id", "at"}`. A servername has at most one anchor at a
// time, so usage counts one start per servername: the newest reservation.
// A start that replaces an earlier one of its servername therefore never
// counts twice, and never against itself.
import type { EffectiveFlavor } from './resolve.js';

export interface Reservation {
  flavor: string;
  user_id: string;
  /** When it was taken (ISO 8601): reservations without an anchor are pruned after a grace time. */
  at: string;
}

export type Book = Map<string, Reservation>;

/** The data key of a start's reservation: valid ConfigMap key characters, since servernames and start ids are DNS labels. */
export function reservationKey(servername: string, startId: string): string {
  return `${servername}.${startId}`;
}

export function splitKey(key: string): { servername: string; startId: string } {
  const dot = key.lastIndexOf('.');
  return dot < 0 ? { servername: key, startId: '' } : { servername: key.slice(0, dot), startId: key.slice(dot + 1) };
}

export function parseBook(data: Readonly<Record<string, string>> | undefined): Book {
  const book: Book = new Map();
  for (const [key, text] of Object.entries(data ?? {})) {
    try {
      const r = JSON.parse(text) as Partial<Reservation>;
      if (typeof r.flavor === 'string' && typeof r.user_id === 'string' && typeof r.at === 'string') {
        book.set(key, { flavor: r.flavor, user_id: r.user_id, at: r.at });
      }
    } catch {
      // Not ours or damaged: ignored (and left alone).
    }
  }
  return book;
}

export function serializeReservation(r: Reservation): string {
  return JSON.stringify({ flavor: r.flavor, user_id: r.user_id, at: r.at });
}

/** The live starts: the newest reservation of each servername, optionally leaving one servername out. */
export function currentStarts(book: Book, exceptServername?: string): Array<{ key: string; servername: string; reservation: Reservation }> {
  const newest = new Map<string, { key: string; servername: string; reservation: Reservation }>();
  for (const [key, reservation] of book) {
    const { servername } = splitKey(key);
    if (servername === exceptServername) continue;
    const seen = newest.get(servername);
    if (!seen || seen.reservation.at < reservation.at || (seen.reservation.at === reservation.at && seen.key < key)) {
      newest.set(servername, { key, servername, reservation });
    }
  }
  return [...newest.values()];
}

export interface Usage {
  /** Running (reserved) starts per flavor. */
  byFlavor: Map<string, number>;
  /** Per user id: per flavor, and `total`. */
  byUser: Map<string, { total: number; byFlavor: Map<string, number> }>;
  total: number;
}

export function usageOf(book: Book, exceptServername?: string): Usage {
  const usage: Usage = { byFlavor: new Map(), byUser: new Map(), total: 0 };
  for (const { reservation: r } of currentStarts(book, exceptServername)) {
    usage.total++;
    usage.byFlavor.set(r.flavor, (usage.byFlavor.get(r.flavor) ?? 0) + 1);
    let user = usage.byUser.get(r.user_id);
    if (!user) usage.byUser.set(r.user_id, (user = { total: 0, byFlavor: new Map() }));
    user.total++;
    user.byFlavor.set(r.flavor, (user.byFlavor.get(r.flavor) ?? 0) + 1);
  }
  return usage;
}

export type RefusalReason = 'closed' | 'flavor_full' | 'user_flavor_full' | 'user_full';

export type Decision =
  | { ok: true }
  | { ok: false; reason: RefusalReason; message: string; detail: string; refusal: FlavorRefusal };

/**
 * The facts of a refused start, for an API that words them its own way (the
 * Outpost API answers with a JupyterHub Outpost's sentences, flavors/wording.ts).
 */
export type FlavorRefusal =
  /** The flavor is not one the user may use (or none was given). */
  | { kind: 'not_allowed'; flavor: string | null; allowed: string[] }
  /** The user runs `maxPerUser` of this flavor already. */
  | { kind: 'user_flavor_full'; flavor: string; maxPerUser: number }
  /** The flavor's `max` is reached. */
  | { kind: 'flavor_full'; flavor: string; max: number; credential: string }
  /** The user runs `userMax` services over all flavors already. */
  | { kind: 'user_full'; userId: string; userMax: number; credential: string };

export interface CapacityRequest {
  credential: string;
  servername: string;
  userId: string;
  flavor: Pick<EffectiveFlavor, 'name' | 'max' | 'maxPerUser'>;
  /** The user's maximum over all flavors (-1 unlimited). */
  userMax: number;
}

const within = (count: number, max: number) => max < 0 || count < max;

/**
 * May this start run, given the reservations? The start's own servername is
 * left out of the count (a repeated or replacing start takes its own place).
 */
export function decide(book: Book, req: CapacityRequest): Decision {
  const usage = usageOf(book, req.servername);
  const { name, max, maxPerUser } = req.flavor;
  const running = usage.byFlavor.get(name) ?? 0;
  const user = usage.byUser.get(req.userId);
  const userFlavor = user?.byFlavor.get(name) ?? 0;
  const userTotal = user?.total ?? 0;
  const fmt = (n: number) => (n < 0 ? 'unlimited' : String(n));
  const detail = `credential ${req.credential}, flavor ${name}: ${running} of ${fmt(max)} running; user ${req.userId}: ${userFlavor} of ${fmt(maxPerUser)} of this flavor, ${userTotal} of ${fmt(req.userMax)} in all`;
  const no = (reason: RefusalReason, message: string, refusal: FlavorRefusal): Decision => ({ ok: false, reason, message, detail, refusal });
  const flavorFull: FlavorRefusal = { kind: 'flavor_full', flavor: name, max, credential: req.credential };
  const userFlavorFull: FlavorRefusal = { kind: 'user_flavor_full', flavor: name, maxPerUser };
  const userFull: FlavorRefusal = { kind: 'user_full', userId: req.userId, userMax: req.userMax, credential: req.credential };
  if (max === 0) return no('closed', `Flavor ${name} is closed: no new services of it can start`, flavorFull);
  if (maxPerUser === 0) return no('closed', `Flavor ${name} is not available to you`, userFlavorFull);
  if (req.userMax === 0) return no('closed', 'No services are available to you', userFull);
  if (!within(userTotal, req.userMax)) return no('user_full', `You already run ${userTotal} of at most ${req.userMax} services`, userFull);
  if (!within(userFlavor, maxPerUser)) return no('user_flavor_full', `You already run ${userFlavor} of at most ${maxPerUser} services of flavor ${name}`, userFlavorFull);
  if (!within(running, max)) return no('flavor_full', `No capacity left for flavor ${name}: ${running} of ${max} running`, flavorFull);
  return { ok: true };
}

/** Keys of reservations older than `graceMs`: the candidates for pruning when their start has no anchor. */
export function agedKeys(book: Book, now: number, graceMs: number): string[] {
  const keys: string[] = [];
  for (const [key, r] of book) {
    const at = Date.parse(r.at);
    if (!Number.isFinite(at) || now - at > graceMs) keys.push(key);
  }
  return keys;
}
