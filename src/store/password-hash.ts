// Password hashes: scrypt (memory-hard), on the libuv pool, compared in constant time. The stored
// form carries its own parameters, so new passwords can get stronger ones without a migration.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** Hash parameters for new passwords. Stored hashes carry their own, so these can be raised. */
export const SCRYPT = { N: 2 ** 15, r: 8, p: 1, saltBytes: 32, keyBytes: 64 } as const;
/** Refuse stored parameters beyond these (a tampered row must not make verify() eat the memory). */
const LIMITS = { maxN: 2 ** 20, maxR: 32, maxP: 16, minKeyBytes: 16, maxKeyBytes: 256 } as const;

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** scrypt$N$r$p$salt$hash with standard base64: a fresh 32-byte salt every time. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltBytes);
  const key = await derive(password, salt, SCRYPT, SCRYPT.keyBytes);
  return formatHash(SCRYPT, salt, key);
}

/** true when password matches the stored hash; false for a mismatch or a hash it cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed, parsed.hash.length);
  return timingSafeEqual(key, parsed.hash);
}

/** A hash of no password, for unknown users to be checked against so they take as long as a wrong password. */
export function dummyHash(): string {
  return formatHash(SCRYPT, randomBytes(SCRYPT.saltBytes), randomBytes(SCRYPT.keyBytes));
}

/** true when verifyPassword can read the stored hash (its form and parameters are within limits). */
export function isReadableHash(stored: string): boolean {
  return parseHash(stored) !== undefined;
}

function formatHash(params: ScryptParams, salt: Buffer, key: Buffer): string {
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parseHash(stored: string): (ScryptParams & { salt: Buffer; hash: Buffer }) | undefined {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(stored);
  if (!m) return undefined;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > LIMITS.maxN || r < 1 || r > LIMITS.maxR || p < 1 || p > LIMITS.maxP) return undefined;
  if (salt.length < 16 || hash.length < LIMITS.minKeyBytes || hash.length > LIMITS.maxKeyBytes) return undefined;
  return { N, r, p, salt, hash };
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyBytes: number): Promise<Buffer> {
  // NFC, so the same password typed on a Mac and a Windows PC (composed or decomposed accents) matches.
  const secret = Buffer.from(password.normalize('NFC'), 'utf8');
  const maxmem = 2 * 128 * params.N * params.r * params.p + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyBytes, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
