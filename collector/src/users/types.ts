/** Shared user shapes: roles, their order, and the user row as the code sees it. */

/** Roles, lowest first; each role may do everything the ones before it may. */
export const roles = ["viewer", "analyst", "admin"] as const;

/** One of {@link roles}. */
export type Role = (typeof roles)[number];

/** Where a user's password is checked. */
export type UserSource = "local" | "ldap";

/** Rank of a role in {@link roles}; higher may do more. */
export function roleRank(role: Role): number {
  return roles.indexOf(role);
}

/** True when `role` is at least `required`. */
export function hasRole(role: Role, required: Role): boolean {
  return roleRank(role) >= roleRank(required);
}

/** A user as stored, without the password hash. */
export interface User {
  readonly id: number;
  readonly username: string;
  readonly role: Role;
  readonly source: UserSource;
  readonly disabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastLoginAt: Date | null;
}

/** A user with the password hash, for login only. */
export interface UserWithSecret extends User {
  readonly passwordHash: string | null;
}

/**
 * Login names: letters, digits and `._@-`, starting with a letter or digit, at most 64
 * characters. Narrow on purpose: names appear in URLs, logs, LDAP DNs and filters.
 */
export const usernamePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
