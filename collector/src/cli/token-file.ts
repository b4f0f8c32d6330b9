/**
 * Where `pcapfleet login` keeps its tokens: `$XDG_CONFIG_HOME/pcapfleet/token.json` (else
 * `~/.config/pcapfleet/token.json`), mode 600 in a directory of mode 700, one entry per collector
 * address. Writes go through a temporary file and a rename, so a reader never sees half a file;
 * a refresh holds a lock file, because refresh tokens work once and two processes refreshing
 * with the same one would look like token theft to the collector (which then revokes the session).
 */
import { chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { AppError, ErrorCode } from "@pcapfleet/core";

/** The tokens of one collector. */
export interface StoredSession {
  readonly username: string;
  readonly role: string;
  readonly access_token: string;
  readonly refresh_token: string;
  /** When the access token expires (RFC 3339). */
  readonly access_expires_at: string;
  /** PEM CA the collector's TLS certificate is verified against (`pcapfleet login --ca`); absent: plaintext. */
  readonly ca?: string;
}

interface TokenFileContent {
  readonly version: 1;
  readonly collectors: Record<string, StoredSession>;
}

/** The token file's path for this environment. */
export function tokenFilePath(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env["XDG_CONFIG_HOME"];
  const base = xdg !== undefined && xdg !== "" ? xdg : join(env["HOME"] || homedir(), ".config");
  return join(base, "pcapfleet", "token.json");
}

function isSession(value: unknown): value is StoredSession {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    ["username", "role", "access_token", "refresh_token", "access_expires_at"].every(
      (key) => typeof v[key] === "string",
    ) &&
    (v["ca"] === undefined || typeof v["ca"] === "string")
  );
}

async function readContent(path: string): Promise<TokenFileContent> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, collectors: {} };
    throw new AppError(ErrorCode.StorageIo, `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const parsed = JSON.parse(text) as { collectors?: Record<string, unknown> };
    const collectors: Record<string, StoredSession> = {};
    for (const [address, session] of Object.entries(parsed.collectors ?? {})) {
      if (isSession(session)) collectors[address] = session;
    }
    return { version: 1, collectors };
  } catch {
    // A damaged file only costs a new login; say so rather than failing every command.
    return { version: 1, collectors: {} };
  }
}

/** The saved session for `address`, if any. */
export async function loadSession(path: string, address: string): Promise<StoredSession | undefined> {
  return (await readContent(path)).collectors[address];
}

/** Saves (or, with undefined, forgets) the session of `address`, keeping the others. */
export async function saveSession(
  path: string,
  address: string,
  session: StoredSession | undefined,
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to a directory it creates, and is masked by the umask.
  await chmod(dir, 0o700);
  const content = await readContent(path);
  const collectors = { ...content.collectors };
  if (session === undefined) delete collectors[address];
  else collectors[address] = session;
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify({ version: 1, collectors }, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/**
 * Runs `work` while holding `<path>.lock` (created exclusively). A lock older than `staleMs`
 * belongs to a process that died and is taken over; waiting longer than `waitMs` is `timeout`.
 */
export async function withTokenLock<T>(
  path: string,
  work: () => Promise<T>,
  options: { waitMs?: number; staleMs?: number } = {},
): Promise<T> {
  const lock = `${path}.lock`;
  const waitMs = options.waitMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await (await open(lock, "wx", 0o600)).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      if (age > staleMs) await rm(lock, { force: true });
      else if (Date.now() > deadline) {
        throw new AppError(
          ErrorCode.Timeout,
          `another pcapfleet process holds ${lock}; remove it if none runs`,
        );
      } else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}
