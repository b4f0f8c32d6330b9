import { describe, expect, it } from "vitest";
import { type CliIo, type CliProgram, runCli, stringFlag } from "./cli.js";
import { AppError, ErrorCode } from "./errors.js";
import { pcapfleetVersion } from "./version.js";

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    env: {},
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
  };
}

const program: CliProgram = {
  name: "demo-cli",
  summary: "a program for tests",
  commands: [
    {
      name: "echo",
      summary: "prints --text",
      help: "Usage: demo-cli echo --text T",
      options: { text: { type: "string" } },
      async run(values, _positionals, out) {
        const text = stringFlag(values, "text");
        if (text === undefined) throw new AppError(ErrorCode.InvalidArgument, "--text is required");
        out.stdout.write(`${text}\n`);
        return 0;
      },
    },
    {
      name: "crash",
      summary: "throws something unexpected",
      help: "Usage: demo-cli crash",
      options: {},
      async run() {
        throw new TypeError("boom");
      },
    },
  ],
};

describe("runCli", () => {
  it("prints help listing the commands and exits 0", async () => {
    const streams = io();
    expect(await runCli(program, ["--help"], streams)).toBe(0);
    const text = streams.out.join("");
    expect(text).toContain(`demo-cli ${pcapfleetVersion()} - a program for tests`);
    expect(text).toMatch(/echo\s+prints --text/);
  });

  it("prints the version", async () => {
    const streams = io();
    expect(await runCli(program, ["--version"], streams)).toBe(0);
    expect(streams.out.join("")).toBe(`${pcapfleetVersion()}\n`);
    expect(pcapfleetVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("prints a command's help", async () => {
    const streams = io();
    expect(await runCli(program, ["echo", "--help"], streams)).toBe(0);
    expect(streams.out.join("")).toBe("Usage: demo-cli echo --text T\n");
  });

  it("runs a command with its flags", async () => {
    const streams = io();
    expect(await runCli(program, ["echo", "--text", "hi"], streams)).toBe(0);
    expect(streams.out.join("")).toBe("hi\n");
  });

  it("exits 2 with one line for usage errors", async () => {
    for (const argv of [[], ["nope"], ["echo", "--txt", "x"], ["echo", "extra"], ["echo"]]) {
      const streams = io();
      expect(await runCli(program, argv, streams)).toBe(2);
      if (argv.length > 0) {
        expect(streams.err).toHaveLength(1);
        expect(streams.err[0]).toMatch(/^demo-cli( echo)?: .+\n$/);
      }
    }
  });

  it("reports an unexpected failure as an internal error with exit 1", async () => {
    const streams = io();
    expect(await runCli(program, ["crash"], streams)).toBe(1);
    expect(streams.err[0]).toBe("demo-cli crash: internal error: boom\n");
  });
});
