/**
 * The password for `pcapfleet login`: from standard input (`--password-stdin`, for scripts and
 * secret managers), else `PCAPFLEET_PASSWORD`, else a prompt on the terminal with echo off. Never
 * from a flag, which would leave it in the shell history and in `ps` output.
 */
import type { Readable } from "node:stream";
import { AppError, ErrorCode } from "@pcapfleet/core";

/** Standard input as the prompt needs it (a TTY read stream, or a pipe). */
export type PasswordInput = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

/** All of `input` as text, without one trailing newline (what `echo secret |` adds). */
export async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/**
 * Reads one line from a terminal without echoing it: raw mode, so each key arrives as typed;
 * Backspace edits, Enter ends, Ctrl-C and Ctrl-D give up (`cancelled`).
 */
export function promptHidden(
  input: PasswordInput,
  output: { write(text: string): unknown },
  prompt: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    // Echo off before the prompt shows, so nothing typed in answer to it can be echoed.
    input.setRawMode?.(true);
    output.write(prompt);
    input.resume();
    const finish = (error?: AppError): void => {
      input.off("data", onData);
      input.setRawMode?.(false);
      input.pause();
      output.write("\n");
      if (error === undefined) resolve(text);
      else reject(error);
    };
    const onData = (data: Buffer | string): void => {
      for (const char of data.toString()) {
        if (char === "\r" || char === "\n") {
          finish();
          return;
        }
        if (char === "\u0003" || char === "\u0004") {
          finish(new AppError(ErrorCode.Cancelled, "login cancelled"));
          return;
        }
        if (char === "\u007f" || char === "\b") text = text.slice(0, -1);
        else text += char;
      }
    };
    input.on("data", onData);
  });
}

/** The password by the rules of the module comment; `invalid_argument` when there is no way to get one. */
export async function readPassword(options: {
  readonly fromStdin: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: PasswordInput;
  readonly stderr: { write(text: string): unknown };
  readonly user: string;
}): Promise<string> {
  let password: string | undefined;
  if (options.fromStdin) password = await readAll(options.stdin);
  else if (options.env["PCAPFLEET_PASSWORD"] !== undefined) password = options.env["PCAPFLEET_PASSWORD"];
  else if (options.stdin.isTTY === true) {
    password = await promptHidden(options.stdin, options.stderr, `Password for ${options.user}: `);
  } else {
    throw new AppError(
      ErrorCode.InvalidArgument,
      "no password: use --password-stdin, set PCAPFLEET_PASSWORD, or run on a terminal to be asked",
    );
  }
  if (password === "") throw new AppError(ErrorCode.InvalidArgument, "the password is empty");
  return password;
}
