// Salted scrypt hashes of passwords and tokens, stored as one self-describing
// string `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` so the parameters can be
// raised later without breaking the hashes already stored. Every computation
// is counted (`computations`), which is how the tests prove that a cached
// credential costs no hashing.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface HashParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_PARAMS: HashParams = { N: 2 ** 14, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Upper bounds for parameters read back from storage (a tampered Secret must not exhaust memory). */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

function derive(secret: string, salt: Buffer, params: HashParams, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

interface Parsed {
  params: HashParams;
  salt: Buffer;
  hash: Buffer;
}

function parse(encoded: string): Parsed | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid =
    Number.isInteger(N) && N >= 2 && N <= MAX_N && (N & (N - 1)) === 0 &&
    Number.isInteger(r) && r >= 1 && r <= MAX_R &&
    Number.isInteger(p) && p >= 1 && p <= MAX_P;
  if (!valid) return undefined;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const hash = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 128) return undefined;
  return { params: { N, r, p }, salt, hash };
}

export class Hasher {
  #computations = 0;

  constructor(readonly params: HashParams = DEFAULT_PARAMS) {}

  /** How many scrypt computations this hasher has run (hashing and verifying alike). */
  get computations(): number {
    return this.#computations;
  }

  async hash(secret: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    this.#computations++;
    const key = await derive(secret, salt, this.params, KEY_LENGTH);
    const { N, r, p } = this.params;
    return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
  }

  /** True when `secret` matches `encoded`; false for a wrong secret or an unreadable hash. */
  async verify(secret: string, encoded: string): Promise<boolean> {
    const parsed = parse(encoded);
    if (!parsed) return false;
    this.#computations++;
    const key = await derive(secret, parsed.salt, parsed.params, parsed.hash.length);
    return timingSafeEqual(key, parsed.hash);
  }

  /**
   * Spends the same work as a verification without a stored hash, so an unknown
   * user answers no faster than a wrong password.
   */
  async dummyVerify(secret: string): Promise<false> {
    this.#computations++;
    await derive(secret, DUMMY_SALT, this.params, KEY_LENGTH);
    return false;
  }
}

const DUMMY_SALT = randomBytes(SALT_LENGTH);

/** True when `encoded` looks like a hash this module wrote (used to validate the stored document). */
export function isHash(encoded: unknown): encoded is string {
  return typeof encoded === 'string' && parse(encoded) !== undefined;
}
