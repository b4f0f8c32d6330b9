import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./log.js";

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, stream };
}

describe("createLogger", () => {
  it("writes JSON lines with the program name and redacts secrets at any depth", async () => {
    const { lines, stream } = capture();
    const log = createLogger({ name: "collector", level: "info", destination: stream });
    log.info(
      {
        password: "hunter2",
        user: { name: "alice", password: "s3cret", refresh_token: "rt" },
        req: { headers: { authorization: "Bearer abc.def.ghi", host: "x" } },
        access_token: "at",
      },
      "login",
    );
    log.child({ jobId: 7 }).warn({ token: "t0k" }, "task failed");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(2);
    const [first, second] = lines;
    expect(first).toMatchObject({
      name: "collector",
      msg: "login",
      password: "[redacted]",
      access_token: "[redacted]",
    });
    expect(first?.["user"]).toEqual({ name: "alice", password: "[redacted]", refresh_token: "[redacted]" });
    expect(first?.["req"]).toEqual({ headers: { authorization: "[redacted]", host: "x" } });
    expect(JSON.stringify(lines)).not.toMatch(/hunter2|s3cret|abc\.def|t0k/);
    expect(second).toMatchObject({ jobId: 7, token: "[redacted]", level: 40 });
  });

  it("drops lines below the configured level", async () => {
    const { lines, stream } = capture();
    const log = createLogger({ name: "agent", level: "warn", destination: stream });
    log.info("quiet");
    log.error("loud");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => line["msg"])).toEqual(["loud"]);
  });
});
