/**
 * `pcapfleet login --user U`: logs in over the collector's gRPC AuthService (the rules and rate
 * limits of POST /login) and keeps the access and refresh tokens in the token file, mode 600,
 * for the commands that follow. `pcapfleet logout` forgets them.
 */
import { AppError, ErrorCode } from "@pcapfleet/core";
import { type CliCommand, type CliIo, type CliValues, stringFlag } from "@pcapfleet/core/cli";
import { print } from "./flags.js";
import { readPassword } from "./password.js";
import { collectorAddress, globalHelp, globalOptions, openSession, storedSession } from "./session.js";
import { saveSession, tokenFilePath } from "./token-file.js";

const loginHelp = `Usage: pcapfleet login --user NAME [--password-stdin] [--collector HOST:PORT] [--ca FILE]

Logs in to the collector and saves the session's tokens in
$XDG_CONFIG_HOME/pcapfleet/token.json (or ~/.config/pcapfleet/token.json), readable only by you.
Later commands use them and refresh them as they expire. With --ca (or $PCAPFLEET_CA) the
connection is TLS, and the CA's path is saved with the tokens: later commands to the same
collector use TLS without --ca.

The password is read from standard input with --password-stdin, else from $PCAPFLEET_PASSWORD,
else asked for on the terminal (not echoed).

Options:
  --user NAME         user name
  --password-stdin    read the password from standard input
${globalHelp}`;

/** The `login` command. */
export const loginCommand: CliCommand = {
  name: "login",
  summary: "log in to a collector and save the session's tokens",
  help: loginHelp,
  options: { ...globalOptions, user: { type: "string", short: "u" }, "password-stdin": { type: "boolean" } },
  run: login,
};

async function login(values: CliValues, _positionals: string[], io: CliIo): Promise<number> {
  const user = stringFlag(values, "user");
  if (user === undefined || user === "")
    throw new AppError(ErrorCode.InvalidArgument, "--user NAME is required");
  const password = await readPassword({
    fromStdin: values["password-stdin"] === true,
    env: io.env,
    stdin: process.stdin,
    stderr: io.stderr,
    user,
  });
  const session = await openSession(values, io);
  try {
    const answer = await session.auth
      .login({ username: user, password }, { deadline: new Date(Date.now() + 60_000) })
      .catch((error: unknown) => {
        throw session.callError(error);
      });
    if (answer.tokens === undefined) throw new AppError(ErrorCode.Internal, "Login answered no tokens");
    const path = tokenFilePath(io.env);
    await saveSession(path, session.address, storedSession(answer.tokens, session.ca?.path));
    const { username, role } = answer.tokens;
    const tls = session.ca === undefined ? {} : { ca: session.ca.path };
    print(
      io,
      values,
      { collector: session.address, username, role, token_file: path, ...tls },
      () => `Logged in to ${session.address} as ${username} (${role}); tokens saved in ${path}\n`,
    );
    return 0;
  } finally {
    session.close();
  }
}

const logoutHelp = `Usage: pcapfleet logout [--collector HOST:PORT]

Forgets the saved tokens of the collector (the session itself expires on its own).

${globalHelp}`;

/** The `logout` command. */
export const logoutCommand: CliCommand = {
  name: "logout",
  summary: "forget the saved tokens of a collector",
  help: logoutHelp,
  options: { ...globalOptions },
  async run(values, _positionals, io) {
    await saveSession(tokenFilePath(io.env), collectorAddress(values, io), undefined);
    return 0;
  },
};
