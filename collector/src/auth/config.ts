import { z } from "zod";

/**
 * Configuration of authentication: signing keys, token lifetimes, failed-login limits and the
 * optional LDAP directory. A zod fragment with defaults, so the collector's config schema embeds
 * it as one key (`auth: authConfigSchema.prefault({})`).
 */

/** One HMAC signing key. The key id travels in each token's header, so keys can rotate. */
export const signingKeySchema = z
  .object({
    kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "kid: 1-64 letters, digits, '.', '_' or '-'"),
    // 32 bytes is the HS256 output size; a shorter secret weakens the MAC.
    secret: z.string().min(32, "must be at least 32 characters"),
  })
  .strict();

/** Directory login: bind as the user, read groups, map groups to a role. */
export const ldapConfigSchema = z
  .object({
    /** `ldap://host:389` or `ldaps://host:636`. */
    url: z.string().regex(/^ldaps?:\/\//, "expected an ldap:// or ldaps:// URL"),
    /** DN of a user with `{username}` in place of the (escaped) login name. */
    userDnTemplate: z.string().includes("{username}").optional(),
    /** Search for the user's DN instead: base DN, filter with `{username}`, optional service bind. */
    searchBase: z.string().optional(),
    searchFilter: z.string().includes("{username}").default("(uid={username})"),
    bindDn: z.string().optional(),
    bindPassword: z.string().optional(),
    /** Where groups live; groups whose `groupMemberAttribute` holds the user's DN are read. */
    groupSearchBase: z.string().optional(),
    groupFilter: z.string().default("(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"),
    groupMemberAttribute: z.string().default("member"),
    /** Group DN (case-insensitive) → role; the highest role of the user's groups wins. */
    groupRoleMap: z.record(z.string(), z.enum(["admin", "analyst", "viewer"])).default({}),
    /** Role of a directory user in no mapped group; absent: such users cannot log in. */
    defaultRole: z.enum(["admin", "analyst", "viewer"]).optional(),
    timeoutMs: z.number().int().positive().default(5_000),
  })
  .strict()
  .refine((ldap) => ldap.userDnTemplate !== undefined || ldap.searchBase !== undefined, {
    message: "set userDnTemplate or searchBase",
  });

/** Schema of the `auth` section of the collector's configuration. */
export const authConfigSchema = z
  .object({
    /** Signing keys; the first signs, all verify. Empty: one is generated and kept in the database. */
    keys: z.array(signingKeySchema).default([]),
    accessTtlSeconds: z
      .number()
      .int()
      .positive()
      .default(15 * 60),
    refreshTtlSeconds: z
      .number()
      .int()
      .positive()
      .default(7 * 24 * 3600),
    /** Failed logins allowed per username within `windowSeconds`. */
    maxFailuresPerUser: z.number().int().positive().default(5),
    /** Failed logins allowed per client IP within `windowSeconds`. */
    maxFailuresPerIp: z.number().int().positive().default(20),
    failureWindowSeconds: z.number().int().positive().default(300),
    /** Take the client IP from X-Forwarded-For (only behind a trusted reverse proxy). */
    trustProxy: z.boolean().default(false),
    ldap: ldapConfigSchema.optional(),
  })
  .strict();

/** The validated `auth` configuration. */
export type AuthConfig = z.output<typeof authConfigSchema>;
/** The validated LDAP configuration. */
export type LdapConfig = z.output<typeof ldapConfigSchema>;
/** One signing key. */
export type SigningKey = z.output<typeof signingKeySchema>;
