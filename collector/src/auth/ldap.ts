import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import { Client, InvalidCredentialsError } from "ldapts";
import { type Role, roleRank } from "../users/types.js";
import type { LdapConfig } from "./config.js";

/**
 * Directory login with ldapts: bind as the user (found by DN template or by a search), read the
 * user's groups (`memberOf` and/or a group search), map them to the highest configured role.
 */

/** Checks a password against the directory. */
export interface LdapAuthenticator {
  /**
   * The role the directory grants, or null when the credentials are wrong or no group maps to
   * a role (and there is no default role).
   *
   * @throws AppError `unavailable` when the directory cannot be reached.
   */
  authenticate(username: string, password: string): Promise<{ role: Role; dn: string } | null>;
}

/** Escapes a value for a DN attribute value (RFC 4514). */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (ch) => `\\${ch}`)
    .replace(/^[ #]/, (ch) => `\\${ch}`)
    .replace(/ $/, "\\ ");
}

/** Escapes a value for a search filter (RFC 4515). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (ch) => `\\${ch.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

function texts(value: Buffer | Buffer[] | string[] | string | undefined): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => (typeof item === "string" ? item : item.toString("utf8")));
}

/** Normalised form for comparing DNs from config with DNs from the server. */
function normDn(dn: string): string {
  return dn.replace(/\s*,\s*/g, ",").toLowerCase();
}

/** Creates an {@link LdapAuthenticator} for `config`. */
export function createLdapAuthenticator(config: LdapConfig, log: Logger): LdapAuthenticator {
  const roleMap = new Map(Object.entries(config.groupRoleMap).map(([dn, role]) => [normDn(dn), role]));

  async function findUserDn(client: Client, username: string): Promise<string | null> {
    if (config.userDnTemplate !== undefined) {
      return config.userDnTemplate.replaceAll("{username}", escapeDnValue(username));
    }
    if (config.bindDn !== undefined) await client.bind(config.bindDn, config.bindPassword ?? "");
    const filter = config.searchFilter.replaceAll("{username}", escapeFilterValue(username));
    const { searchEntries } = await client.search(config.searchBase ?? "", {
      scope: "sub",
      filter,
      attributes: ["dn"],
      sizeLimit: 2,
    });
    // Zero or several matches: refuse rather than guess which account is meant.
    return searchEntries.length === 1 ? (searchEntries[0]?.dn ?? null) : null;
  }

  async function groupsOf(client: Client, dn: string): Promise<string[]> {
    const groups: string[] = [];
    const self = await client.search(dn, { scope: "base", attributes: ["memberOf"] });
    for (const entry of self.searchEntries) groups.push(...texts(entry["memberOf"]));
    if (config.groupSearchBase !== undefined) {
      const filter = `(&${config.groupFilter}(${config.groupMemberAttribute}=${escapeFilterValue(dn)}))`;
      const found = await client.search(config.groupSearchBase, { scope: "sub", filter, attributes: ["dn"] });
      groups.push(...found.searchEntries.map((entry) => entry.dn));
    }
    return groups;
  }

  return {
    async authenticate(username, password) {
      // An empty password is an "unauthenticated bind" that many servers accept: never a login.
      if (password === "") return null;
      const client = new Client({
        url: config.url,
        timeout: config.timeoutMs,
        connectTimeout: config.timeoutMs,
      });
      try {
        const dn = await findUserDn(client, username);
        if (dn === null) return null;
        try {
          await client.bind(dn, password);
        } catch (error) {
          if (error instanceof InvalidCredentialsError) return null;
          throw error;
        }
        const groups = await groupsOf(client, dn);
        let role: Role | undefined = config.defaultRole;
        for (const group of groups) {
          const mapped = roleMap.get(normDn(group));
          if (mapped !== undefined && (role === undefined || roleRank(mapped) > roleRank(role)))
            role = mapped;
        }
        if (role === undefined) {
          log.info({ username, groups }, "ldap: user is in no mapped group");
          return null;
        }
        return { role, dn };
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw new AppError(ErrorCode.Unavailable, "directory unavailable", { cause: error });
      } finally {
        await client.unbind().catch(() => undefined);
      }
    },
  };
}
