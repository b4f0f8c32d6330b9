import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Db, Queryable } from "../db/index.js";
import type { Role, User, UserSource, UserWithSecret } from "./types.js";

/**
 * The `users` table. Passwords arrive here already hashed; this module never sees plain text.
 * Changes that could leave the system without an enabled admin are refused as `conflict`.
 */

interface UserRow {
  id: number;
  username: string;
  password_hash: string | null;
  role: Role;
  source: UserSource;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
  last_login_at: Date | null;
}

const columns = "id, username, password_hash, role, source, disabled, created_at, updated_at, last_login_at";

function toUser(row: UserRow): UserWithSecret {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    role: row.role,
    source: row.source,
    disabled: row.disabled,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLoginAt: row.last_login_at,
  };
}

/** Drops the hash, for anything that leaves the auth code. */
export function publicUser(user: UserWithSecret): User {
  const { passwordHash: _hash, ...rest } = user;
  return rest;
}

/** Fields of a new user. */
export interface NewUser {
  readonly username: string;
  readonly passwordHash: string | null;
  readonly role: Role;
  readonly source: UserSource;
}

/** Changes to a user; absent fields stay as they are. */
export interface UserChanges {
  readonly role?: Role;
  readonly passwordHash?: string;
  readonly disabled?: boolean;
}

/** Access to the `users` table. */
export interface UserStore {
  /** The user named `username` (exact match), with the hash; null when absent. */
  find(username: string): Promise<UserWithSecret | null>;
  /** Every user, by name. */
  list(): Promise<User[]>;
  /** Inserts a user; `conflict` when the name is taken. */
  create(user: NewUser): Promise<User>;
  /** Inserts the user unless the name exists; true when inserted. */
  createIfAbsent(user: NewUser): Promise<boolean>;
  /**
   * Applies `changes`; `not_found` when absent, `conflict` when it would demote or disable the
   * last enabled admin. Returns the user before and after.
   */
  update(username: string, changes: UserChanges): Promise<{ before: User; after: User }>;
  /**
   * Deletes a user (its sessions go with it); `not_found` when absent, `conflict` for the last
   * enabled admin. Returns the ids of the sessions that were live, to revoke their tokens.
   */
  remove(username: string): Promise<{ user: User; liveSessionIds: string[] }>;
  /** Creates or updates a directory user at login (role follows the directory). */
  upsertLdap(username: string, role: Role): Promise<UserWithSecret>;
  /** Stamps a successful login. */
  touchLogin(userId: number, at: Date): Promise<void>;
}

/**
 * Takes a lock on the enabled admins and refuses when `username` is the only one, so two
 * concurrent demotions cannot both pass the check.
 */
async function assertNotLastAdmin(tx: Queryable, username: string, what: string): Promise<void> {
  const { rows } = await tx.query<{ username: string }>(
    "SELECT username FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE",
  );
  if (rows.length === 1 && rows[0]?.username === username) {
    throw new AppError(ErrorCode.Conflict, `cannot ${what} the last enabled admin`);
  }
}

function notFound(username: string): AppError {
  return new AppError(ErrorCode.NotFound, `no user named ${username}`);
}

/** Creates the {@link UserStore} over `db`. */
export function createUserStore(db: Db): UserStore {
  const find = async (q: Queryable, username: string): Promise<UserWithSecret | null> => {
    const { rows } = await q.query<UserRow>(`SELECT ${columns} FROM users WHERE username = $1`, [username]);
    return rows[0] === undefined ? null : toUser(rows[0]);
  };

  return {
    find: (username) => find(db, username),
    async list() {
      const { rows } = await db.query<UserRow>(`SELECT ${columns} FROM users ORDER BY username`);
      return rows.map((row) => publicUser(toUser(row)));
    },
    async create(user) {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO users (username, password_hash, role, source) VALUES ($1, $2, $3, $4)
         ON CONFLICT (username) DO NOTHING RETURNING ${columns}`,
        [user.username, user.passwordHash, user.role, user.source],
      );
      if (rows[0] === undefined)
        throw new AppError(ErrorCode.Conflict, `user ${user.username} exists already`);
      return publicUser(toUser(rows[0]));
    },
    async createIfAbsent(user) {
      const { rowCount } = await db.query(
        `INSERT INTO users (username, password_hash, role, source) VALUES ($1, $2, $3, $4)
         ON CONFLICT (username) DO NOTHING`,
        [user.username, user.passwordHash, user.role, user.source],
      );
      return rowCount === 1;
    },
    update: (username, changes) =>
      db.transaction(async (tx) => {
        const before = await find(tx, username);
        if (before === null) throw notFound(username);
        const demotes = changes.role !== undefined && changes.role !== "admin";
        if (before.role === "admin" && (demotes || changes.disabled === true)) {
          await assertNotLastAdmin(tx, username, demotes ? "demote" : "disable");
        }
        const { rows } = await tx.query<UserRow>(
          `UPDATE users SET role = COALESCE($2, role), password_hash = COALESCE($3, password_hash),
             disabled = COALESCE($4, disabled), updated_at = now()
           WHERE username = $1 RETURNING ${columns}`,
          [username, changes.role ?? null, changes.passwordHash ?? null, changes.disabled ?? null],
        );
        if (rows[0] === undefined) throw notFound(username);
        return { before: publicUser(before), after: publicUser(toUser(rows[0])) };
      }),
    remove: (username) =>
      db.transaction(async (tx) => {
        const user = await find(tx, username);
        if (user === null) throw notFound(username);
        if (user.role === "admin") await assertNotLastAdmin(tx, username, "delete");
        const { rows } = await tx.query<{ id: string }>(
          "SELECT id FROM user_sessions WHERE user_id = $1 AND revoked_at IS NULL",
          [user.id],
        );
        await tx.query("DELETE FROM users WHERE id = $1", [user.id]);
        return { user: publicUser(user), liveSessionIds: rows.map((row) => row.id) };
      }),
    async upsertLdap(username, role) {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO users (username, password_hash, role, source) VALUES ($1, NULL, $2, 'ldap')
         ON CONFLICT (username) DO UPDATE SET role = EXCLUDED.role, updated_at = now()
           WHERE users.source = 'ldap'
         RETURNING ${columns}`,
        [username, role],
      );
      if (rows[0] === undefined) {
        // A local account of that name exists: the directory must not take it over.
        throw new AppError(ErrorCode.Conflict, `user ${username} is a local account`);
      }
      return toUser(rows[0]);
    },
    async touchLogin(userId, at) {
      await db.query("UPDATE users SET last_login_at = $2 WHERE id = $1", [userId, at]);
    },
  };
}
