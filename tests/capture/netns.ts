/**
 * A throwaway network namespace joined to the host by a veth pair, for capture tests that need
 * real packets on a real interface. Names are unique per run; remove() undoes everything and is
 * safe to call after a partial setup.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Why the namespace tests cannot run here, or undefined when they can (root, `ip netns`, tcpdump). */
export function netnsUnavailable(tcpdump: string): string | undefined {
  if (process.getuid?.() !== 0) return "not running as root";
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
  } catch {
    return "`ip netns` does not work here";
  }
  try {
    execFileSync(tcpdump, ["--version"], { stdio: "ignore" });
  } catch {
    return `tcpdump not found at ${tcpdump}`;
  }
  return undefined;
}

/** A namespace with one veth pair: `hostIf` (host side) and the peer inside the namespace. */
export interface VethNamespace {
  readonly ns: string;
  readonly hostIf: string;
  readonly hostAddr: string;
  readonly peerAddr: string;
  /** Extra interfaces made on the host by {@link addHostLink}, removed with the rest. */
  readonly extra: string[];
  remove(): Promise<void>;
}

/** A short unique id: interface names have at most 15 characters. */
export function uniqueId(): string {
  return randomBytes(3).toString("hex");
}

/** Creates the namespace and the veth pair, addressed and up. */
export async function createVethNamespace(): Promise<VethNamespace> {
  const id = uniqueId();
  const ns = `pfcap-${id}`;
  const hostIf = `pfh${id}`;
  const peerIf = `pfn${id}`;
  const subnet = randomBytes(2);
  const base = `10.${200 + ((subnet[0] ?? 0) % 50)}.${subnet[1] ?? 0}`;
  const hostAddr = `${base}.1`;
  const peerAddr = `${base}.2`;
  const extra: string[] = [];
  const remove = async (): Promise<void> => {
    for (const name of [hostIf, ...extra]) await run("ip", ["link", "del", name]).catch(() => undefined);
    await run("ip", ["netns", "del", ns]).catch(() => undefined);
  };
  try {
    await run("ip", ["netns", "add", ns]);
    await run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", peerIf, "netns", ns]);
    await run("ip", ["addr", "add", `${hostAddr}/30`, "dev", hostIf]);
    await run("ip", ["link", "set", hostIf, "up"]);
    await run("ip", ["-n", ns, "addr", "add", `${peerAddr}/30`, "dev", peerIf]);
    await run("ip", ["-n", ns, "link", "set", peerIf, "up"]);
    await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  } catch (error) {
    await remove();
    throw error;
  }
  return { ns, hostIf, hostAddr, peerAddr, extra, remove };
}

/**
 * Adds an interface on the host (one that appears while the agent runs): a veth pair whose
 * peer is `NAME` with its last character replaced, since not every kernel has `dummy`.
 */
export async function addHostLink(veth: VethNamespace, name: string): Promise<void> {
  veth.extra.push(name);
  await run("ip", ["link", "add", name, "type", "veth", "peer", "name", `${name.slice(0, -1)}p`]);
  await run("ip", ["link", "set", name, "up"]);
}

// Sends `count` datagrams `TAG-i` to `port`, and `TAG-x-i` to `port + 1`, `gapMs` apart.
const sender = `
const [host, port, count, tag, gapMs] = process.argv.slice(1);
const socket = require("node:dgram").createSocket("udp4");
let i = 0;
const send = () => {
  if (i === Number(count)) { socket.close(); return; }
  socket.send(Buffer.from(tag + "-" + i), Number(port), host);
  socket.send(Buffer.from(tag + "-x-" + i), Number(port) + 1, host);
  i += 1;
  setTimeout(send, Number(gapMs));
};
send();
`;

/**
 * From inside the namespace, sends `count` UDP datagrams with payload `TAG-i` to `port` on the
 * host side and as many `TAG-x-i` to `port + 1` (traffic a capture filter should exclude).
 */
export async function sendDatagrams(
  veth: VethNamespace,
  options: { port: number; count: number; tag: string; gapMs: number },
): Promise<void> {
  await run("ip", [
    "netns",
    "exec",
    veth.ns,
    process.execPath,
    "-e",
    sender,
    veth.hostAddr,
    String(options.port),
    String(options.count),
    options.tag,
    String(options.gapMs),
  ]);
}
