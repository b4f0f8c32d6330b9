/**
 * Authentication and authorisation: scrypt passwords, JWT access/refresh tokens with rotation
 * and revocation, failed-login limits, optional LDAP, the permission table and its middleware.
 */
export { type AuthConfig, authConfigSchema, type LdapConfig, type SigningKey } from "./config.js";
export { type EnsureAdminOptions, type EnsureAdminResult, ensureAdmin } from "./ensure-admin.js";
export { createLdapAuthenticator, type LdapAuthenticator } from "./ldap.js";
export { hashPassword, type ScryptParams, verifyPassword } from "./password.js";
export {
  type Access,
  type Method,
  type PermissionCheck,
  type PermissionEntry,
  permissionTable,
  type RuleName,
} from "./permissions.js";
export { createAuthRoutes } from "./routes.js";
export {
  type AuthService,
  type AuthServiceDeps,
  type AuthUser,
  type ClientMeta,
  createAuthService,
  type TokenPair,
} from "./service.js";
