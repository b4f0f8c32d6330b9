import { describe, expect, it } from "vitest";
import { hoistGlobals, run } from "./pcapfleet.js";

function capture() {
  let out = "";
  let err = "";
  return {
    io: {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env: {},
    },
    out: () => out,
    err: () => err,
  };
}

describe("pcapfleet", () => {
  it("moves global flags given before the command words after them", () => {
    expect(hoistGlobals(["--json", "--collector", "h:1", "jobs", "ls"])).toEqual([
      "jobs",
      "ls",
      "--json",
      "--collector",
      "h:1",
    ]);
    expect(hoistGlobals(["--token=t", "sensors", "ls", "--location", "x"])).toEqual([
      "sensors",
      "ls",
      "--location",
      "x",
      "--token=t",
    ]);
    expect(hoistGlobals(["--ca", "/etc/ca.pem", "sensors", "ls"])).toEqual([
      "sensors",
      "ls",
      "--ca",
      "/etc/ca.pem",
    ]);
    expect(hoistGlobals(["--help"])).toEqual(["--help"]);
    expect(hoistGlobals([])).toEqual([]);
  });

  it("lists the groups in its help and dispatches to them", async () => {
    const top = capture();
    expect(await run(["--help"], top.io)).toBe(0);
    expect(top.out()).toMatch(
      /^ {2}jobs +PCAP jobs on a collector: .* \(submit, wait, ls, show, cancel, download\)$/m,
    );
    const group = capture();
    expect(await run(["jobs"], group.io)).toBe(2);
    expect(group.out()).toContain("Usage: pcapfleet jobs <command> [options]");
    const help = capture();
    expect(await run(["jobs", "submit", "--help"], help.io)).toBe(0);
    expect(help.out()).toContain("Usage: pcapfleet jobs submit --from T --to T");
  });

  it("refuses bad input before it dials anything, exit 2", async () => {
    const cases: [string[], string][] = [
      [["jobs", "nope"], "pcapfleet jobs: unknown command 'nope' (see pcapfleet jobs --help)\n"],
      [
        ["jobs", "ls", "--status", "done"],
        "pcapfleet jobs ls: --status must be one of queued, running, complete, partial, failed, cancelled, not 'done'\n",
      ],
      [["jobs", "show"], "pcapfleet jobs show: a job id is required: pcapfleet jobs show ID\n"],
      [["jobs", "download", "x"], "pcapfleet jobs download: -o FILE is required\n"],
      [["jobs", "submit", "--to", "1700000000"], "pcapfleet jobs submit: --from T and --to T are required\n"],
      [
        ["sensors", "ls", "--collector", "no port"],
        "pcapfleet sensors ls: --collector: expected HOST:PORT, not 'no port'\n",
      ],
      [["login"], "pcapfleet login: --user NAME is required\n"],
      [
        ["sensors", "ls", "--ca", "/nonexistent/ca.pem"],
        "pcapfleet sensors ls: --ca: /nonexistent/ca.pem cannot read (ENOENT)\n",
      ],
    ];
    for (const [args, message] of cases) {
      const c = capture();
      expect(await run(args, c.io), args.join(" ")).toBe(2);
      expect(c.err()).toBe(message);
    }
  });
});
