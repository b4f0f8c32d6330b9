import { AppError } from "@pcapfleet/core";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./password.js";
import { createTokenSigner, type TokenSigner } from "./tokens.js";

const keyA = { kid: "a", secret: "a".repeat(40) };
const keyB = { kid: "b", secret: "b".repeat(40) };
const signer = (keys: Array<{ kid: string; secret: string }>, now = () => Date.now()): TokenSigner =>
  createTokenSigner({ keys, accessTtlSeconds: 900, refreshTtlSeconds: 7 * 86400, now });

async function rejects(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe("unauthenticated");
  expect((error as AppError).message).toMatch(message);
}

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("token signer", () => {
  it("signs with the first key and verifies with any configured key (rotation)", async () => {
    const old = await signer([keyA]).signAccess({ username: "u", role: "viewer", sessionId: "s" });
    const rotated = signer([keyB, keyA]);
    await expect(rotated.verifyAccess(old.token)).resolves.toMatchObject({ username: "u", role: "viewer" });
    const fresh = await rotated.signAccess({ username: "u", role: "admin", sessionId: "s" });
    expect(JSON.parse(Buffer.from(fresh.token.split(".")[0] ?? "", "base64url").toString()).kid).toBe("b");
    // Once key a is dropped, its tokens stop verifying.
    await rejects(signer([keyB]).verifyAccess(old.token), /unknown key/);
  });

  it("rejects alg none, forged signatures, wrong kid, wrong type and garbage", async () => {
    const s = signer([keyA]);
    const payload = {
      sub: "root",
      role: "admin",
      sid: "s",
      iss: "pcapfleet",
      exp: Math.floor(Date.now() / 1000) + 60,
    };
    await rejects(
      s.verifyAccess(`${b64({ alg: "none", typ: "at+jwt", kid: "a" })}.${b64(payload)}.`),
      /invalid/,
    );
    const forged = await new SignJWT(payload)
      .setProtectedHeader({ alg: "HS256", kid: "a", typ: "at+jwt" })
      .sign(new TextEncoder().encode("x".repeat(40)));
    await rejects(s.verifyAccess(forged), /invalid/);
    const wrongKid = await new SignJWT(payload)
      .setProtectedHeader({ alg: "HS256", kid: "zz", typ: "at+jwt" })
      .sign(new TextEncoder().encode(keyA.secret));
    await rejects(s.verifyAccess(wrongKid), /unknown key/);
    const refresh = await s.signRefresh({ username: "u", sessionId: "s" });
    await rejects(s.verifyAccess(refresh.token), /invalid/);
    const access = await s.signAccess({ username: "u", role: "viewer", sessionId: "s" });
    await rejects(s.verifyRefresh(access.token), /invalid/);
    await rejects(s.verifyAccess("not.a.jwt"), /invalid/);
    const badRole = await new SignJWT({ ...payload, role: "superuser" })
      .setProtectedHeader({ alg: "HS256", kid: "a", typ: "at+jwt" })
      .sign(new TextEncoder().encode(keyA.secret));
    await rejects(s.verifyAccess(badRole), /unknown role/);
  });

  it("expires tokens by the injected clock", async () => {
    let now = Date.now();
    const s = signer([keyA], () => now);
    const { token } = await s.signAccess({ username: "u", role: "viewer", sessionId: "s" });
    now += 899_000;
    await expect(s.verifyAccess(token)).resolves.toBeDefined();
    now += 2_000;
    await rejects(s.verifyAccess(token), /expired/);
  });
});

describe("password hashing", () => {
  const cheap = { N: 1024, r: 8, p: 1 };
  it("verifies the right password only, with parameters in the hash", async () => {
    const hash = await hashPassword("s3cret pass", cheap);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword("s3cret pass", hash)).toBe(true);
    expect(await verifyPassword("s3cret pasS", hash)).toBe(false);
    expect(await hashPassword("s3cret pass", cheap)).not.toBe(hash);
  });
  it("treats malformed or hostile hashes as a mismatch", async () => {
    for (const hash of ["", "plain", "scrypt$3$8$1$AA$AA", `scrypt$${2 ** 30}$8$1$AAAA$${"A".repeat(43)}`]) {
      expect(await verifyPassword("x", hash)).toBe(false);
    }
  });
});
