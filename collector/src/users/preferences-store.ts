import { AppError, ErrorCode } from "@pcapfleet/core";
import type { Db } from "../db/index.js";

/**
 * Per-user preferences (`user_preferences`), keyed by username for the routes' convenience.
 * A user without a row gets the defaults.
 */

/** Themes the dashboard offers. */
export const themes = ["light", "dark", "system"] as const;
/** Table densities the dashboard offers. */
export const densities = ["compact", "comfortable"] as const;

/** A user's preferences. */
export interface Preferences {
  readonly theme: (typeof themes)[number];
  readonly time_zone: string;
  readonly default_location: string | null;
  readonly table_density: (typeof densities)[number];
  readonly has_avatar: boolean;
}

/** Preferences a PUT may change; absent fields stay, `default_location: null` clears. */
export type PreferenceChanges = Partial<Omit<Preferences, "has_avatar">>;

/** An uploaded avatar. */
export interface Avatar {
  readonly bytes: Uint8Array;
  readonly contentType: "image/png" | "image/jpeg";
}

/** Reads and writes preferences and avatars. */
export interface PreferencesStore {
  get(username: string): Promise<Preferences>;
  update(username: string, changes: PreferenceChanges): Promise<Preferences>;
  setAvatar(username: string, avatar: Avatar): Promise<void>;
  getAvatar(username: string): Promise<Avatar | null>;
}

interface PrefRow {
  user_id: number;
  theme: Preferences["theme"] | null;
  time_zone: string | null;
  default_location: string | null;
  table_density: Preferences["table_density"] | null;
  has_avatar: boolean | null;
}

function gone(username: string): AppError {
  // The token outlived its user (deleted a moment ago): treat as not logged in.
  return new AppError(ErrorCode.Unauthenticated, `user ${username} no longer exists`);
}

/** Creates the {@link PreferencesStore} over `db`. */
export function createPreferencesStore(db: Db): PreferencesStore {
  async function read(username: string): Promise<{ userId: number; prefs: Preferences }> {
    const { rows } = await db.query<PrefRow>(
      `SELECT u.id AS user_id, p.theme, p.time_zone, p.default_location, p.table_density,
              p.avatar IS NOT NULL AS has_avatar
       FROM users u LEFT JOIN user_preferences p ON p.user_id = u.id WHERE u.username = $1`,
      [username],
    );
    const row = rows[0];
    if (row === undefined) throw gone(username);
    return {
      userId: row.user_id,
      prefs: {
        theme: row.theme ?? "system",
        time_zone: row.time_zone ?? "UTC",
        default_location: row.default_location,
        table_density: row.table_density ?? "comfortable",
        has_avatar: row.has_avatar ?? false,
      },
    };
  }

  return {
    get: async (username) => (await read(username)).prefs,
    async update(username, changes) {
      const { userId, prefs } = await read(username);
      const next = { ...prefs, ...changes };
      await db.query(
        `INSERT INTO user_preferences (user_id, theme, time_zone, default_location, table_density)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET theme = EXCLUDED.theme, time_zone = EXCLUDED.time_zone,
           default_location = EXCLUDED.default_location, table_density = EXCLUDED.table_density,
           updated_at = now()`,
        [userId, next.theme, next.time_zone, next.default_location, next.table_density],
      );
      return next;
    },
    async setAvatar(username, avatar) {
      const { userId } = await read(username);
      await db.query(
        `INSERT INTO user_preferences (user_id, avatar, avatar_content_type) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET avatar = EXCLUDED.avatar,
           avatar_content_type = EXCLUDED.avatar_content_type, updated_at = now()`,
        [userId, avatar.bytes, avatar.contentType],
      );
    },
    async getAvatar(username) {
      const { rows } = await db.query<{
        avatar: Uint8Array | null;
        avatar_content_type: Avatar["contentType"] | null;
      }>(
        `SELECT p.avatar, p.avatar_content_type FROM users u JOIN user_preferences p ON p.user_id = u.id
         WHERE u.username = $1`,
        [username],
      );
      const row = rows[0];
      if (row?.avatar == null || row.avatar_content_type === null) return null;
      return { bytes: row.avatar, contentType: row.avatar_content_type };
    },
  };
}

/** The image type of `bytes` by magic number: PNG or JPEG, else null. */
export function sniffImage(bytes: Uint8Array): Avatar["contentType"] | null {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= png.length && png.every((byte, i) => bytes[i] === byte)) return "image/png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  return null;
}

/** True when `name` is an IANA time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
