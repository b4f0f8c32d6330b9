import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildDnsQuery,
  buildEthernet,
  buildIp,
  buildTcp,
  DnsType,
  EtherType,
  type GeneratedPacket,
  generateTraffic,
  IpProto,
  LinkType,
  mergeCaptures,
  openCapture,
  TcpFlags,
} from "@pcapfleet/pcap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Analyser, createAnalyser, type JobAnalysis, type ProtocolNode } from "./index.js";
import { dnsTypeName } from "./names.js";
import {
  tsharkConversations,
  tsharkEndpoints,
  tsharkHierarchy,
  tsharkLaterIpv6Fragments,
  tsharkValueCounts,
  wiresharkSize,
} from "./tshark.test-support.js";
import { writeCapture } from "./write-capture.test-support.js";

const dir = mkdtempSync(join(tmpdir(), "pcapfleet-analysis-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads a capture file through the engine's reader into an analyser, as the merge feeds it. */
async function analyse(file: string, analyser: Analyser): Promise<JobAnalysis> {
  const reader = await openCapture(file);
  try {
    while ((await reader.readBatch((rec) => analyser.observe(rec))) > 0) {
      // readBatch visits every buffered packet; loop until the end of the file.
    }
  } finally {
    await reader.close();
  }
  return analyser.result();
}

/** DNS over TCP, which tshark and the decoder both read: two queries in one flow. */
function dnsOverTcp(start: number): GeneratedPacket[] {
  const query = (id: number, name: string, type: number): Buffer => {
    const msg = buildDnsQuery({ id, name, type });
    const framed = Buffer.alloc(2 + msg.length);
    framed.writeUInt16BE(msg.length, 0);
    msg.copy(framed, 2);
    return framed;
  };
  const seg = (payload: Buffer, seq: number): Buffer =>
    buildEthernet({
      etherType: EtherType.IPV4,
      payload: buildIp({
        src: "10.9.0.7",
        dst: "10.9.0.53",
        protocol: IpProto.TCP,
        payload: buildTcp({
          src: "10.9.0.7",
          dst: "10.9.0.53",
          srcPort: 40000,
          dstPort: 53,
          seq,
          flags: TcpFlags.ACK | TcpFlags.PSH,
          payload,
        }),
      }),
    });
  const a = query(7, "zone.example.org", DnsType.HTTPS);
  const b = query(8, "zone.example.org", DnsType.AAAA);
  return [seg(a, 1000), seg(b, 1000 + a.length)].map((data, i) => ({
    tsSec: start,
    tsNsec: 500_000_000 + i,
    data,
    origLen: data.length,
  }));
}

/**
 * Our tree as tshark's `io,phs` map ("eth:ip:tcp" to packets and bytes). The decoder names every
 * VLAN tag "vlan"; tshark calls an 802.1ad outer tag (TPID 0x88a8, which the generator's QinQ
 * uses) "ieee8021ad". So the packets ending at each node are renamed along their whole path,
 * then summed again per prefix: eth>vlan>vlan>ip becomes eth>ieee8021ad>vlan>ip, and eth>vlan
 * keeps only the single-tagged packets, as in tshark's tree.
 */
function ourHierarchy(nodes: readonly ProtocolNode[]): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  const count = (layers: readonly string[], packets: number, bytes: number): void => {
    for (let i = 1; i <= layers.length; i++) {
      const key = layers.slice(0, i).join(":");
      const n = out.get(key) ?? { packets: 0, bytes: 0 };
      out.set(key, { packets: n.packets + packets, bytes: n.bytes + bytes });
    }
  };
  const walk = (list: readonly ProtocolNode[], prefix: readonly string[]): void => {
    for (const n of list) {
      const path = [...prefix, n.name];
      const ending = {
        packets: n.packets - n.children.reduce((sum, c) => sum + c.packets, 0),
        bytes: n.bytes - n.children.reduce((sum, c) => sum + c.bytes, 0),
      };
      const shown =
        path[0] === "eth" && path[1] === "vlan" && path[2] === "vlan"
          ? ["eth", "ieee8021ad", ...path.slice(2)]
          : path;
      if (ending.packets > 0) count(shown, ending.packets, ending.bytes);
      walk(n.children, path);
    }
  };
  walk(nodes, []);
  return out;
}

/**
 * Layers compared with tshark. Application layers other than DNS are left out: the decoder
 * names TLS, HTTP, SSH and MySQL per packet from the payload's first bytes or the port, while
 * tshark follows conversation state and heuristics (a TLS continuation segment is "tls" here
 * and "data" there, tshark names UDP 514 "syslog" and the decoder "data"), and tshark shows
 * IP fragments after the first as "data", which the decoder does not add to the path.
 */
const COMPARED = new Set([
  "eth",
  "ieee8021ad",
  "vlan",
  "ip",
  "ipv6",
  "arp",
  "tcp",
  "udp",
  "icmp",
  "icmpv6",
  "dns",
]);
const compared = (path: string): boolean => path.split(":").every((l) => COMPARED.has(l));

describe("analysis vs tshark on generated traffic", () => {
  let file = "";
  let r: JobAnalysis;

  beforeAll(async () => {
    const generated = [
      ...generateTraffic({ seed: 21, packets: 6000, vlanShare: 0.2, ipv6Share: 0.3, concurrency: 48 }),
    ];
    const start = generated[0]?.tsSec ?? 0;
    // Some long packets cut by a small snaplen, so bytes must come from original lengths.
    const packets = generated.map((p, i) =>
      i % 9 === 4 && p.data.length > 1000 ? { ...p, data: p.data.subarray(0, 128) } : p,
    );
    packets.push(...dnsOverTcp((packets.at(-1)?.tsSec ?? start) + 1));
    file = join(dir, "mixed.pcap");
    await writeCapture(file, LinkType.ETHERNET, packets);
    const end = (packets.at(-1)?.tsSec ?? start) + 1;
    const analyser = createAnalyser({
      windowStartMs: start * 1000,
      windowEndMs: end * 1000,
      topN: 100_000,
    });
    r = await analyse(file, analyser);
  });

  it("counts what tshark counts in the protocol hierarchy, for the layers both name", () => {
    const theirs = tsharkHierarchy(file);
    const ours = ourHierarchy(r.protocol_hierarchy);
    const eth = theirs.get("eth");
    expect([r.packets, r.bytes]).toEqual([eth?.packets, eth?.bytes]);
    const mine = [...ours].filter(([path]) => compared(path));
    const ref = [...theirs].filter(([path]) => compared(path));
    expect(new Map(mine)).toEqual(new Map(ref));
    // Sanity: the comparison covered every level, VLAN tags and DNS over both IP versions.
    for (const path of ["eth:ip:tcp", "eth:ipv6:udp:dns", "eth:ieee8021ad:vlan:ipv6:tcp", "eth:arp"]) {
      expect(ours.get(path)?.packets ?? 0).toBeGreaterThan(0);
    }
  });

  it("lists every IPv4 and IPv6 endpoint with tshark's packets and bytes, sent and received", () => {
    const theirs = tsharkEndpoints(file);
    // tshark's IPv6 taps skip fragments after the first: add them from its field output.
    const fragments = tsharkLaterIpv6Fragments(file);
    expect(fragments.length).toBeGreaterThan(0);
    for (const f of fragments) {
      const src = theirs.get(f.src);
      const dst = theirs.get(f.dst);
      if (src === undefined || dst === undefined) throw new Error(`fragment of unknown endpoint ${f.src}`);
      src.packets++;
      src.bytes += f.bytes;
      src.txPackets++;
      src.txBytes += f.bytes;
      dst.packets++;
      dst.bytes += f.bytes;
      dst.rxPackets++;
      dst.rxBytes += f.bytes;
    }
    const ours = new Map(
      r.top_talkers.map((t) => [
        t.address,
        {
          packets: t.packets,
          bytes: t.bytes,
          txPackets: t.sent_packets,
          txBytes: t.sent_bytes,
          rxPackets: t.received_packets,
          rxBytes: t.received_bytes,
        },
      ]),
    );
    expect(ours.size).toBeGreaterThan(20);
    expect(ours).toEqual(theirs);
  });

  it("agrees with tshark's IP conversations when ours are summed per address pair", () => {
    const theirs = [...tsharkConversations(file, "ip"), ...tsharkConversations(file, "ipv6")];
    // Per unordered address pair: traffic from the lower address (as text) and from the higher.
    type Flow = { packets: number; bytes: number };
    const pairs = new Map<string, { up: Flow; down: Flow }>();
    const pairOf = (x: string, y: string): { up: Flow; down: Flow } => {
      const key = x <= y ? `${x} ${y}` : `${y} ${x}`;
      const found = pairs.get(key) ?? { up: { packets: 0, bytes: 0 }, down: { packets: 0, bytes: 0 } };
      pairs.set(key, found);
      return found;
    };
    const add = (f: Flow, packets: number, bytes: number): void => {
      f.packets += packets;
      f.bytes += bytes;
    };
    for (const c of r.conversations) {
      const p = pairOf(c.address_a, c.address_b);
      const forward = c.address_a <= c.address_b;
      add(forward ? p.up : p.down, c.a_to_b_packets, c.a_to_b_bytes);
      add(forward ? p.down : p.up, c.b_to_a_packets, c.b_to_a_bytes);
    }
    // tshark's IPv6 taps skip fragments after the first (see tsharkLaterIpv6Fragments): take ours out.
    for (const f of tsharkLaterIpv6Fragments(file))
      add(f.src <= f.dst ? pairOf(f.src, f.dst).up : pairOf(f.src, f.dst).down, -1, -f.bytes);
    expect(theirs.length).toBe(pairs.size);
    for (const t of theirs) {
      const p = pairOf(t.a, t.b);
      const [ab, ba] = t.a <= t.b ? [p.up, p.down] : [p.down, p.up];
      expect(
        [ab.packets, wiresharkSize(ab.bytes), ba.packets, wiresharkSize(ba.bytes)],
        `${t.a} <-> ${t.b}`,
      ).toEqual([t.aToBPackets, t.aToBBytes, t.bToAPackets, t.bToABytes]);
    }
  });

  it("agrees with tshark's TCP and UDP conversations, A being the first packet's source", () => {
    for (const kind of ["tcp", "udp"] as const) {
      const theirs = tsharkConversations(file, kind);
      const ours = new Map(
        r.conversations
          .filter((c) => c.protocol === kind && c.port_a !== null)
          .map((c) => [`${c.address_a}:${c.port_a} ${c.address_b}:${c.port_b}`, c]),
      );
      expect(theirs.length, kind).toBe(ours.size);
      expect(ours.size, kind).toBeGreaterThan(10);
      for (const t of theirs) {
        const c = ours.get(`${t.a} ${t.b}`);
        expect(c, `${kind} ${t.a} <-> ${t.b}`).toBeDefined();
        expect(
          [
            c?.a_to_b_packets,
            wiresharkSize(c?.a_to_b_bytes ?? 0),
            c?.b_to_a_packets,
            wiresharkSize(c?.b_to_a_bytes ?? 0),
          ],
          `${kind} ${t.a} <-> ${t.b}`,
        ).toEqual([t.aToBPackets, t.aToBBytes, t.bToAPackets, t.bToABytes]);
      }
    }
  });

  it("counts DNS queries (not responses), TLS ClientHello server names and HTTP hosts as tshark does", () => {
    const dns = tsharkValueCounts(file, "dns.flags.response == 0", ["dns.qry.name", "dns.qry.type"]);
    const ourDns = new Map(r.dns_queries.map((q) => [`${q.name}/${q.type}`, q.count]));
    // tshark prints the QTYPE number; the analysis shows its mnemonic.
    const theirDns = new Map(
      [...dns].map(([k, n]) => [k.replace(/\|(\d+)$/, (_, t) => `/${dnsTypeName(Number(t))}`), n]),
    );
    expect(ourDns).toEqual(theirDns);
    expect(ourDns.get("zone.example.org/HTTPS")).toBe(1);

    const sni = tsharkValueCounts(file, "tls.handshake.type == 1", ["tls.handshake.extensions_server_name"]);
    expect(new Map(r.tls_sni.map((s) => [s.server_name, s.count]))).toEqual(sni);
    expect(sni.size).toBeGreaterThan(0);

    const hosts = tsharkValueCounts(file, "http.request", ["http.host"]);
    expect(new Map(r.http_hosts.map((h) => [h.host, h.count]))).toEqual(hosts);
    expect(hosts.size).toBeGreaterThan(0);
  });

  it("puts every packet in the timeline, in one-second buckets for this short window", () => {
    expect(r.timeline.bucket_seconds).toBe(1);
    expect(r.timeline.packets.reduce((a, b) => a + b, 0)).toBe(r.packets);
    expect(r.timeline.bytes.reduce((a, b) => a + b, 0)).toBe(r.bytes);
    expect(r.timeline.outside_window_packets).toBe(0);
    expect(r.truncated_tables).toEqual([]);
    expect(r.decode_errors).toBe(0);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});

describe("analysis in a merge", () => {
  it("sees through onPacket exactly what the merged file holds", async () => {
    const inputs: string[] = [];
    for (const seed of [31, 32, 33]) {
      const path = join(dir, `sensor-${seed}.pcap`);
      await writeCapture(path, LinkType.ETHERNET, [
        ...generateTraffic({ seed, packets: 1500, ipv6Share: 0.3 }),
      ]);
      inputs.push(path);
    }
    const window = { windowStartMs: 1_700_000_000_000, windowEndMs: 1_700_000_060_000 };
    const during = createAnalyser(window);
    const out = join(dir, "merged.pcap");
    // The method itself as the observer: the merge calls it unbound, with (rec, input).
    const merged = await mergeCaptures(inputs, out, { onPacket: during.observe });
    const r = during.result();
    expect(r.packets).toBe(4500);
    expect(merged.packets).toBe(4500);
    expect(r).toEqual(await analyse(out, createAnalyser(window)));
  });
});
