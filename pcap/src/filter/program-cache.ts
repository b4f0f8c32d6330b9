/**
 * Programs libpcap compiled, kept on disk between processes: a CLI slice otherwise runs
 * `tcpdump -ddd` (a process start, 3-12 ms) for the same expression every time (ADR 0012,
 * "Filter programs"). An entry holds tcpdump's printed program for one (link type, snaplen,
 * byte order, expression) and is used only when everything that decided it is unchanged:
 *
 * - the tcpdump binary: resolved as `execFile` resolves it (PATH), then its device, inode, size,
 *   mtime and ctime (a replaced or rebuilt binary is a miss);
 * - libpcap: `/etc/ld.so.cache` (ldconfig rewrites it whenever a shared library is installed or
 *   upgraded) and LD_LIBRARY_PATH / LD_PRELOAD;
 * - the expression: only expressions made of libpcap keywords and numeric literals are stored.
 *   A word libpcap would look up (a host name in DNS or /etc/hosts, a service in /etc/services,
 *   a protocol in /etc/protocols, a MAC in /etc/ethers, any `\`-escaped name) is compiled every
 *   time, as tcpdump resolves it every time.
 *
 * An entry that cannot be read, parsed or checked (truncated, edited, another version) is a miss
 * and is overwritten by the next compile: the cache can make a slice slower, never different.
 */
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import { sha256Hex } from "../index-file/sha256.js";

/** Stored compiled programs, as tcpdump printed them (`-ddd`). */
export interface ProgramCache {
  /** The stored program text for `key` (format and expression), or undefined. */
  get(key: string): string | undefined;
  /** Stores `dump` for `key`; a failure to write is ignored (it is a cache). */
  put(key: string, dump: string): void;
}

/** Format version of the entries. */
const VERSION = 1;
/** Entries kept at most; the oldest half goes when a write finds more. */
const MAX_ENTRIES = 512;

/** A cache in `dir` for programs compiled by `tcpdump`; `env` gives PATH and the loader's variables. */
export function openProgramCache(
  dir: string,
  tcpdump: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProgramCache {
  let identity: string | null | undefined;
  const tool = () => {
    identity ??= toolIdentity(tcpdump, env);
    return identity;
  };
  const entryPath = (key: string) => join(dir, `${sha256Hex(key).slice(0, 32)}.bpf.json`);
  return {
    get(key) {
      const who = tool();
      if (who === null || !cacheableExpression(expressionOf(key))) return undefined;
      try {
        const entry: unknown = JSON.parse(readFileSync(entryPath(key), "utf8"));
        return checked(entry, who, key);
      } catch {
        return undefined;
      }
    },
    put(key, dump) {
      const who = tool();
      if (who === null || !cacheableExpression(expressionOf(key))) return;
      const entry = { v: VERSION, tool: who, key, dump, crc: checksum(who, key, dump) };
      const path = entryPath(key);
      const temp = `${path}.${process.pid}.tmp`;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
        renameSync(temp, path);
        prune(dir);
      } catch {
        try {
          rmSync(temp, { force: true });
        } catch {
          // the directory itself is unusable: nothing was written
        }
      }
    },
  };
}

/** The expression part of a compiler key (`linkType/snaplen/byteOrder/expression`). */
function expressionOf(key: string): string {
  return key.split("/").slice(3).join("/");
}

function checksum(tool: string, key: string, dump: string): number {
  return crc32(`${VERSION}\0${tool}\0${key}\0${dump}`);
}

/** The entry's program text when it is a whole entry for this tool and key. */
function checked(entry: unknown, tool: string, key: string): string | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (e["v"] !== VERSION || e["tool"] !== tool || e["key"] !== key) return undefined;
  const dump = e["dump"];
  if (typeof dump !== "string" || e["crc"] !== checksum(tool, key, dump)) return undefined;
  return dump;
}

/**
 * What decides the programs `tcpdump` prints, besides the expression; null when the binary is
 * not found (no caching: the compile reports it).
 */
export function toolIdentity(
  tcpdump: string,
  env: Readonly<Record<string, string | undefined>>,
): string | null {
  const path = locate(tcpdump, env["PATH"] ?? "");
  if (path === undefined) return null;
  const bin = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (bin === undefined) return null;
  const ld = statSync("/etc/ld.so.cache", { bigint: true, throwIfNoEntry: false });
  return JSON.stringify(
    [
      path,
      bin.dev,
      bin.ino,
      bin.size,
      bin.mtimeNs,
      bin.ctimeNs,
      ld?.ino ?? "",
      ld?.size ?? "",
      ld?.mtimeNs ?? "",
      env["LD_LIBRARY_PATH"] ?? "",
      env["LD_PRELOAD"] ?? "",
    ].map(String),
  );
}

/** The file `execFile(name)` runs: a path as given, else the first executable in PATH. */
function locate(name: string, path: string): string | undefined {
  if (name.includes("/")) return isAbsolute(name) ? name : resolve(name);
  for (const dir of path.split(delimiter)) {
    const candidate = resolve(dir === "" ? "." : dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** libpcap's reserved words (scanner.l): none of them is looked up in a name service. */
const KEYWORDS = new Set(
  (
    "dst src link ether ppp slip fddi tr wlan arp rarp ip sctp tcp udp icmp igmp igrp pim vrrp carp " +
    "radio ip6 icmp6 ah esp atalk aarp decnet lat sca moprc mopdl iso esis es-is isis is-is l1 l2 " +
    "iih lsp snp csnp psnp clnp stp ipx netbeui host net mask port portrange proto protochain " +
    "gateway type subtype direction dir address1 addr1 address2 addr2 address3 addr3 address4 " +
    "addr4 ra ta less greater byte broadcast multicast and or not len length inbound outbound " +
    "ifindex vlan mpls pppoed pppoes geneve lane llc metac bcc oam oamf4 oamf4ec oamf4sc sc ilmic " +
    "vpi vci connectmsg metaconnect fisu lssu lsu msu hfisu hlssu hmsu sio opc dpc sls hsio hopc " +
    "hdpc hsls icmptype icmpcode icmp-echoreply icmp-unreach icmp-sourcequench icmp-redirect " +
    "icmp-echo icmp-routeradvert icmp-routersolicit icmp-timxceed icmp-paramprob icmp-tstamp " +
    "icmp-tstampreply icmp-ireq icmp-ireqreply icmp-maskreq icmp-maskreply icmp6type icmp6code " +
    "icmp6-destinationunreach icmp6-packettoobig icmp6-timeexceeded icmp6-parameterproblem " +
    "icmp6-echo icmp6-echoreply icmp6-multicastlistenerquery icmp6-multicastlistenerreportv1 " +
    "icmp6-multicastlistenerdone icmp6-routersolicit icmp6-routeradvert icmp6-neighborsolicit " +
    "icmp6-neighboradvert icmp6-redirect icmp6-routerrenum icmp6-nodeinformationquery " +
    "icmp6-nodeinformationresponse icmp6-ineighbordiscoverysolicit " +
    "icmp6-ineighbordiscoveryadvert icmp6-multicastlistenerreportv2 " +
    "icmp6-homeagentdiscoveryrequest icmp6-homeagentdiscoveryreply icmp6-mobileprefixsolicit " +
    "icmp6-mobileprefixadvert icmp6-certpathsolicit icmp6-certpathadvert " +
    "icmp6-multicastrouteradvert icmp6-multicastroutersolicit icmp6-multicastrouterterm tcpflags " +
    "tcp-fin tcp-syn tcp-rst tcp-push tcp-ack tcp-urg tcp-ece tcp-cwr"
  ).split(" "),
);

/**
 * Numbers (decimal, octal, 0x hex), dotted IPv4 of 2-4 parts, and anything with a colon (MAC and
 * IPv6 literals, `ip[2:2]`): libpcap reads these without a lookup. A word of letters and digits
 * that is none of these (`1a`, `10.1.2.3.4`, `cafe`) is a name libpcap would resolve.
 */
const LITERAL = /^(?:\d+|0[xX][0-9a-fA-F]+|\d+(?:\.\d+){1,3}|[0-9a-fA-F.]*:[0-9a-fA-F:.]*)$/;

/**
 * True when `expression` names nothing libpcap resolves through the system (see the module
 * comment), so its program depends only on the tool and the capture format.
 */
export function cacheableExpression(expression: string): boolean {
  if (expression.includes("\\") || expression.includes("$")) return false;
  let previous = "";
  for (const token of expression.split(/[^A-Za-z0-9_.:-]+/)) {
    // A name never starts or ends with `-`: there it is subtraction.
    const word = token.replace(/^-+|-+$/g, "");
    if (word === "") continue;
    // libpcap's lexer takes the longest match: `len-14` is one name (looked up), not `len - 14`;
    // after `portrange`, `1000-2000` is such a name too, but read as numbers before any lookup.
    const range = previous === "portrange" && /^\d+-\d+$/.test(word);
    if (!KEYWORDS.has(word) && !LITERAL.test(word) && !range) return false;
    previous = word;
  }
  return true;
}

/** Keeps the directory bounded: with more than MAX_ENTRIES entries, the older half goes. */
function prune(dir: string): void {
  const names = readdirSync(dir).filter((name) => name.endsWith(".bpf.json"));
  if (names.length <= MAX_ENTRIES) return;
  const aged = names
    .map((name) => ({ name, at: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => a.at - b.at);
  for (const { name } of aged.slice(0, names.length - MAX_ENTRIES / 2))
    rmSync(join(dir, name), { force: true });
}
