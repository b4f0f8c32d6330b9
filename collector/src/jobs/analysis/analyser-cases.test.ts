import { AppError } from "@pcapfleet/core/errors";
import {
  buildDnsQuery,
  buildEthernet,
  buildHttpRequest,
  buildIcmpEcho,
  buildIp,
  buildTcp,
  buildTlsClientHello,
  buildUdp,
  EtherType,
  emptyRecord,
  IpProto,
  LinkType,
  type PacketRecord,
  TcpFlags,
} from "@pcapfleet/pcap";
import { describe, expect, it } from "vitest";
import { dbBackends } from "../../db/testing.js";
import { type AnalysisOptions, chooseBucketSeconds, createAnalyser, MAX_BUCKETS } from "./index.js";

const T0 = 1_700_000_000;
const WINDOW: AnalysisOptions = { windowStartMs: T0 * 1000, windowEndMs: (T0 + 600) * 1000 };

/** A record over `data`, as a reader hands it out. */
function record(data: Buffer, tsSec: number, tsNsec = 0, linkType: number = LinkType.ETHERNET): PacketRecord {
  const rec = emptyRecord();
  rec.buf = data;
  rec.caplen = data.length;
  rec.origLen = data.length;
  rec.tsSec = tsSec;
  rec.tsNsec = tsNsec;
  rec.linkType = linkType;
  return rec;
}

/** An Ethernet TCP segment. */
function tcp(src: string, dst: string, srcPort: number, dstPort: number, payload?: Buffer): Buffer {
  const segment = buildTcp({
    src,
    dst,
    srcPort,
    dstPort,
    flags: TcpFlags.ACK,
    ...(payload ? { payload } : {}),
  });
  const etherType = src.includes(":") ? EtherType.IPV6 : EtherType.IPV4;
  return buildEthernet({
    etherType,
    payload: buildIp({ src, dst, protocol: IpProto.TCP, payload: segment }),
  });
}

describe("createAnalyser options", () => {
  it.each([
    [{ windowStartMs: Number.NaN, windowEndMs: 1 }, "windowStartMs"],
    [{ windowStartMs: 0, windowEndMs: Number.POSITIVE_INFINITY }, "windowEndMs"],
    [{ windowStartMs: 5000, windowEndMs: 5000 }, "windowEndMs"],
    [{ windowStartMs: 0, windowEndMs: 9e15 }, "windowEndMs"],
    [{ ...WINDOW, topN: 0 }, "topN"],
    [{ ...WINDOW, topN: 2.5 }, "topN"],
    [{ ...WINDOW, maxKeys: 0 }, "maxKeys"],
    [{ ...WINDOW, maxKeys: 10_000_000 }, "maxKeys"],
  ] as const)("rejects %o with an invalid_argument error naming %s", (options, key) => {
    const attempt = (): unknown => createAnalyser(options);
    expect(attempt).toThrow(AppError);
    expect(attempt).toThrow(key);
    try {
      attempt();
    } catch (error) {
      expect((error as AppError).code).toBe("invalid_argument");
      expect((error as AppError).details).toEqual({ key });
    }
  });
});

describe("analysis of no packets", () => {
  it("is all zeros and empty lists, with a timeline of empty buckets", () => {
    const r = createAnalyser(WINDOW).result();
    expect(r).toMatchObject({
      packets: 0,
      bytes: 0,
      first_packet_at: null,
      last_packet_at: null,
      decode_errors: 0,
      protocol_hierarchy: [],
      top_talkers: [],
      conversations: [],
      top_ports: [],
      dns_queries: [],
      tls_sni: [],
      http_hosts: [],
      truncated_tables: [],
    });
    expect(Object.values(r.distinct)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(r.timeline.packets).toHaveLength(600);
    expect(r.timeline.packets.every((n) => n === 0)).toBe(true);
  });
});

describe("timeline", () => {
  it("picks the smallest round bucket giving at most 600 buckets", () => {
    const cases: Array<[number, number]> = [
      [1, 1],
      [600, 1],
      [601, 2],
      [3600, 10],
      [86_400, 300],
      [3 * 86_400, 600],
      [7 * 86_400, 1800],
      [30 * 86_400, 7200],
      [51 * 86_400, 10_800],
      [600 * 86_400, 86_400],
      [730 * 86_400, 2 * 86_400],
    ];
    for (const [seconds, bucket] of cases) {
      expect(chooseBucketSeconds(seconds * 1000), `${seconds} s`).toBe(bucket);
      expect(Math.ceil(seconds / bucket)).toBeLessThanOrEqual(MAX_BUCKETS);
    }
  });

  it("counts packets in their bucket, and those outside the window only in the totals", () => {
    // A 601-second window: 2-second buckets, the last one cut to a second.
    const a = createAnalyser({ windowStartMs: T0 * 1000, windowEndMs: (T0 + 601) * 1000 });
    const frame = tcp("10.0.0.1", "10.0.0.2", 40000, 80);
    for (const [sec, nsec] of [
      [T0 - 1, 999_999_999], // before the window
      [T0, 0],
      [T0 + 1, 999_999_999],
      [T0 + 2, 0],
      [T0 + 600, 500_000_000], // last bucket
      [T0 + 601, 0], // the end is exclusive
    ] as const) {
      a.observe(record(frame, sec, nsec));
    }
    const r = a.result();
    expect(r.timeline.bucket_seconds).toBe(2);
    expect(r.timeline.packets).toHaveLength(301);
    expect(r.timeline.packets.slice(0, 2)).toEqual([2, 1]);
    expect(r.timeline.packets[300]).toBe(1);
    expect(r.timeline.bytes[0]).toBe(2 * frame.length);
    expect(r.timeline.outside_window_packets).toBe(2);
    expect(r.packets).toBe(6);
    expect(r.timeline.start).toBe("2023-11-14T22:13:20.000Z");
    expect(r.first_packet_at).toBe("2023-11-14T22:13:19.999Z");
    expect(r.last_packet_at).toBe("2023-11-14T22:23:21.000Z");
  });
});

describe("conversations and ports", () => {
  it("names the first packet's source A, whatever the address order, and counts both directions", () => {
    const a = createAnalyser(WINDOW);
    const toServer = tcp("10.0.0.200", "10.0.0.1", 50123, 443);
    const toClient = tcp("10.0.0.1", "10.0.0.200", 443, 50123, Buffer.alloc(100));
    a.observe(record(toServer, T0 + 1));
    a.observe(record(toClient, T0 + 2));
    a.observe(record(toClient, T0 + 3, 250_000_000));
    const [c] = a.result().conversations;
    expect(c).toEqual({
      address_a: "10.0.0.200",
      port_a: 50123,
      address_b: "10.0.0.1",
      port_b: 443,
      protocol: "tcp",
      ip_proto: 6,
      packets: 3,
      bytes: toServer.length + 2 * toClient.length,
      a_to_b_packets: 1,
      a_to_b_bytes: toServer.length,
      b_to_a_packets: 2,
      b_to_a_bytes: 2 * toClient.length,
      first_seen: "2023-11-14T22:13:21.000Z",
      last_seen: "2023-11-14T22:13:23.250Z",
    });
    expect(a.result().top_ports).toEqual([
      { transport: "tcp", port: 443, packets: 3, bytes: toServer.length + 2 * toClient.length },
    ]);
  });

  it("keys ICMP by address pair with null ports, and IPv6 addresses in RFC 5952 text", () => {
    const a = createAnalyser(WINDOW);
    const echo = buildEthernet({
      etherType: EtherType.IPV4,
      payload: buildIp({
        src: "192.0.2.9",
        dst: "192.0.2.1",
        protocol: IpProto.ICMP,
        payload: buildIcmpEcho({ id: 1, seq: 1 }),
      }),
    });
    a.observe(record(echo, T0));
    a.observe(record(tcp("2001:db8::1", "2001:db8:0:0:1::2", 1234, 22), T0));
    const r = a.result();
    const icmp = r.conversations.find((c) => c.protocol === "icmp");
    expect([icmp?.address_a, icmp?.address_b, icmp?.port_a, icmp?.port_b]).toEqual([
      "192.0.2.9",
      "192.0.2.1",
      null,
      null,
    ]);
    const v6 = r.conversations.find((c) => c.protocol === "tcp");
    expect([v6?.address_a, v6?.address_b]).toEqual(["2001:db8::1", "2001:db8::1:0:0:2"]);
    expect(r.top_ports).toEqual([{ transport: "tcp", port: 22, packets: 1, bytes: expect.any(Number) }]);
    expect(r.top_talkers.map((t) => t.address).sort()).toEqual([
      "192.0.2.1",
      "192.0.2.9",
      "2001:db8::1",
      "2001:db8::1:0:0:2",
    ]);
  });
});

describe("bounded tables", () => {
  it("keeps at most maxKeys keys per table, reports the truncation and keeps the heavy talker", () => {
    const maxKeys = 64;
    const a = createAnalyser({ ...WINDOW, maxKeys, topN: 5 });
    const heavy = tcp("10.1.0.1", "10.2.0.1", 40000, 443, Buffer.alloc(1400));
    let total = 0;
    for (let i = 0; i < 5000; i++) {
      // A scan: each packet from a new address, interleaved with one large flow.
      const scan = tcp(`10.3.${(i >> 8) & 255}.${i & 255}`, "10.2.0.1", 1024 + (i % 60000), 80);
      a.observe(record(scan, T0 + 1));
      total += scan.length;
      if (i % 10 === 0) {
        a.observe(record(heavy, T0 + 1));
        total += heavy.length;
      }
    }
    const r = a.result();
    expect(r.distinct.top_talkers).toBe(maxKeys);
    expect(r.distinct.conversations).toBe(maxKeys);
    const names = r.truncated_tables.map((t) => t.table);
    expect(names).toEqual(["top_talkers", "conversations"]);
    for (const t of r.truncated_tables) {
      expect(t.max_keys).toBe(maxKeys);
      expect(t.evicted_keys).toBeGreaterThan(4000);
      expect(t.ranked_by).toBe("bytes");
      // Space-Saving's bound: no error above the table's total measure over maxKeys.
      expect(t.max_error).toBeLessThanOrEqual((names.indexOf(t.table) === 0 ? 2 * total : total) / maxKeys);
    }
    const top = r.conversations[0];
    expect([top?.address_a, top?.port_b, top?.packets]).toEqual(["10.1.0.1", 443, 500]);
    expect(r.top_talkers.slice(0, 2).map((t) => t.address)).toEqual(["10.2.0.1", "10.1.0.1"]);
    expect(r.conversations).toHaveLength(5);
    expect(r.top_ports.map((p) => p.port)).toEqual([443, 80]);
  });
});

describe("decode problems", () => {
  it("counts malformed packets as decode errors, not packets cut by the capture", () => {
    const a = createAnalyser(WINDOW);
    const good = tcp("10.0.0.1", "10.0.0.2", 40000, 80);
    const badIhl = Buffer.from(good);
    badIhl[14] = 0x43; // IPv4 with a 12-byte header
    const cut = record(good, T0);
    cut.caplen = 30; // snapped inside the IPv4 header
    a.observe(record(badIhl, T0));
    a.observe(cut);
    a.observe(record(Buffer.from([0x70, 0, 0, 0]), T0, 0, LinkType.RAW)); // IP version 7
    a.observe(record(Buffer.from([1, 2, 3]), T0, 0, 147)); // a link type the decoder does not know
    const r = a.result();
    expect(r.decode_errors).toBe(2);
    expect(r.packets).toBe(4);
    expect(r.bytes).toBe(2 * good.length + 4 + 3);
    expect(r.conversations).toEqual([]);
    expect(r.protocol_hierarchy.map((n) => [n.name, n.packets])).toEqual([
      ["eth", 2],
      ["raw", 1],
      ["unknown", 1],
    ]);
  });

  it("cuts a long TLS server name to 255 characters", () => {
    const a = createAnalyser(WINDOW);
    const sni = `${"a".repeat(300)}.example`;
    a.observe(record(tcp("10.0.0.1", "10.0.0.2", 40000, 443, buildTlsClientHello({ sni })), T0));
    expect(a.result().tls_sni).toEqual([{ server_name: "a".repeat(255), count: 1 }]);
  });
});

describe.each(dbBackends())("names with control characters, stored as jsonb on $name", (backend) => {
  it("are escaped as \\DDD, so Postgres accepts the analysis and gives it back unchanged", async () => {
    const a = createAnalyser(WINDOW);
    const http = buildHttpRequest({ host: "evil\u0000host\u001b.example" });
    a.observe(record(tcp("10.0.0.1", "10.0.0.2", 40000, 80, http), T0));
    const dns = buildDnsQuery({ id: 1, name: "nul\u0000label.example" });
    const udp = buildUdp({ src: "10.0.0.1", dst: "10.0.0.53", srcPort: 5353, dstPort: 53, payload: dns });
    const frame = buildEthernet({
      etherType: EtherType.IPV4,
      payload: buildIp({ src: "10.0.0.1", dst: "10.0.0.53", protocol: IpProto.UDP, payload: udp }),
    });
    a.observe(record(frame, T0));
    const r = a.result();
    expect(r.http_hosts).toEqual([{ host: "evil\\000host\\027.example", count: 1 }]);
    expect(r.dns_queries).toEqual([{ name: "nul\\000label.example", type: "A", count: 1 }]);
    const scratch = await backend.create();
    try {
      const { rows } = await scratch.db.query<{ a: unknown }>("SELECT $1::jsonb AS a", [JSON.stringify(r)]);
      expect(rows[0]?.a).toEqual(r);
    } finally {
      await scratch.drop();
    }
  });
});
