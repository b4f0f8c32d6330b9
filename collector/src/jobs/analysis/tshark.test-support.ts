/**
 * tshark as the reference for the analysis tests: runs it on a capture and parses its
 * statistics (`-z io,phs`, `-z conv,*`, `-z endpoints,*`) and field output.
 */
import { execFileSync } from "node:child_process";

/** Preferences that make tshark dissect each packet on its own (no reassembly), as the decoder does. */
const NO_REASSEMBLY = ["tcp.desegment_tcp_streams:FALSE", "ip.defragment:FALSE", "ipv6.defragment:FALSE"];

function tshark(file: string, args: readonly string[]): string {
  const prefs = NO_REASSEMBLY.flatMap((p) => ["-o", p]);
  return execFileSync("tshark", ["-r", file, "-n", ...prefs, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** `tshark -z io,phs` as a map from path ("eth:ip:tcp") to frames and bytes. */
export function tsharkHierarchy(file: string): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  const stack: string[] = [];
  for (const line of tshark(file, ["-q", "-z", "io,phs"]).split("\n")) {
    const m = /^(\s*)(\S+)\s+frames:(\d+)\s+bytes:(\d+)/.exec(line);
    if (m === null) continue;
    const depth = (m[1] ?? "").length / 2;
    stack.length = depth;
    stack.push(m[2] ?? "");
    out.set(stack.join(":"), { packets: Number(m[3]), bytes: Number(m[4]) });
  }
  return out;
}

/** One row of `-z endpoints,ip` / `endpoints,ipv6`. */
export interface TsharkEndpoint {
  packets: number;
  bytes: number;
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
}

/** `tshark -z endpoints,ip -z endpoints,ipv6`, by address. */
export function tsharkEndpoints(file: string): Map<string, TsharkEndpoint> {
  const out = new Map<string, TsharkEndpoint>();
  const text = tshark(file, ["-q", "-z", "endpoints,ip", "-z", "endpoints,ipv6"]);
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m === null) continue;
    const [, address, packets, bytes, txPackets, txBytes, rxPackets, rxBytes] = m.map(String);
    out.set(address ?? "", {
      packets: Number(packets),
      bytes: Number(bytes),
      txPackets: Number(txPackets),
      txBytes: Number(txBytes),
      rxPackets: Number(rxPackets),
      rxBytes: Number(rxBytes),
    });
  }
  return out;
}

/** One row of a `-z conv,*` table: A and B as printed ("addr" or "addr:port"), "<-" is B to A. */
export interface TsharkConversation {
  a: string;
  b: string;
  aToBPackets: number;
  /** Byte counts as tshark prints them: "N bytes" below 10 000, then "N kB" (see {@link wiresharkSize}). */
  aToBBytes: string;
  bToAPackets: number;
  bToABytes: string;
  packets: number;
  bytes: string;
}

/** `tshark -z conv,<kind>` rows (kind: ip, ipv6, tcp, udp). */
export function tsharkConversations(file: string, kind: string): TsharkConversation[] {
  const rows: TsharkConversation[] = [];
  const size = "(\\d+ (?:bytes|kB|MB|GB))";
  const re = new RegExp(`^(\\S+)\\s+<->\\s+(\\S+)\\s+(\\d+) ${size}\\s+(\\d+) ${size}\\s+(\\d+) ${size}\\s`);
  for (const line of tshark(file, ["-q", "-z", `conv,${kind}`]).split("\n")) {
    const m = re.exec(line);
    if (m === null) continue;
    rows.push({
      a: m[1] ?? "",
      b: m[2] ?? "",
      bToAPackets: Number(m[3]),
      bToABytes: m[4] ?? "",
      aToBPackets: Number(m[5]),
      aToBBytes: m[6] ?? "",
      packets: Number(m[7]),
      bytes: m[8] ?? "",
    });
  }
  return rows;
}

/**
 * A byte count as Wireshark 4's conversation tables print it (`format_size` with SI prefixes):
 * exact below 10 000, else truncated to kB, MB or GB.
 */
export function wiresharkSize(bytes: number): string {
  if (bytes < 10_000) return `${bytes} bytes`;
  if (bytes < 10_000_000) return `${Math.floor(bytes / 1e3)} kB`;
  if (bytes < 10_000_000_000) return `${Math.floor(bytes / 1e6)} MB`;
  return `${Math.floor(bytes / 1e9)} GB`;
}

/** Values of `field` in packets matching `filter`, counted (several per packet split on ','). */
export function tsharkValueCounts(
  file: string,
  filter: string,
  fields: readonly string[],
): Map<string, number> {
  const args = ["-Y", filter, "-T", "fields", "-E", "separator=|", ...fields.flatMap((f) => ["-e", f])];
  const counts = new Map<string, number>();
  for (const line of tshark(file, args).split("\n")) {
    if (line === "" || line.split("|").some((v) => v === "")) continue;
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return counts;
}

/**
 * IPv6 fragments after the first, as (source, destination, frame length). With reassembly off,
 * tshark 4.0's IPv6 dissector hands these to no tap, so `-z endpoints,ipv6` and `-z conv,ipv6`
 * leave them out while IPv4's count theirs; the analysis counts every IP packet on the wire.
 */
export function tsharkLaterIpv6Fragments(file: string): Array<{ src: string; dst: string; bytes: number }> {
  const args = [
    "-Y",
    "ipv6.fraghdr.offset > 0",
    "-T",
    "fields",
    "-e",
    "ipv6.src",
    "-e",
    "ipv6.dst",
    "-e",
    "frame.len",
  ];
  return tshark(file, args)
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [src, dst, bytes] = line.split("\t");
      return { src: src ?? "", dst: dst ?? "", bytes: Number(bytes) };
    });
}
