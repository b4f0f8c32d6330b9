import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Password hashing with scrypt from node:crypto. The parameters are encoded in each hash
 * (`scrypt$N$r$p$salt$hash`, base64url), so they can be raised later without invalidating
 * existing hashes.
 */

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Defaults: N=2^15, r=8 (32 MiB, tens of milliseconds per hash on one core). */
export const defaultScryptParams: ScryptParams = { N: 32_768, r: 8, p: 1 };

const keyLength = 32;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    // scrypt needs 128 * N * r bytes; node refuses above maxmem, so leave headroom.
    maxmem: 256 * params.N * params.r,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, keyLength, options, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** Hashes `password` with a fresh random salt. */
export async function hashPassword(
  password: string,
  params: ScryptParams = defaultScryptParams,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64url"), key.toString("base64url")].join(
    "$",
  );
}

const encoded = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/**
 * True when `password` matches `hash`, compared in constant time. A malformed hash or absurd
 * parameters are a mismatch, never an exception (the hash may come from an old or edited row).
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const match = encoded.exec(hash);
  if (match === null) return false;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(match[4] ?? "", "base64url");
  const expected = Buffer.from(match[5] ?? "", "base64url");
  if (expected.length !== keyLength) return false;
  const actual = await derive(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

/** A random password for generated accounts: 18 bytes, base64url (24 characters). */
export function randomPassword(): string {
  return randomBytes(18).toString("base64url");
}
