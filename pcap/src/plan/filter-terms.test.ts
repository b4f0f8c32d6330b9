import { describe, expect, it } from "vitest";
import { type FilterPlan, parseIp6, planFilter } from "./filter-terms.js";

const ip = (text: string): number => text.split(".").reduce((value, part) => value * 256 + Number(part), 0);
const host4 = (text: string): FilterPlan => ({
  kind: "term",
  term: { kind: "ip4", from: ip(text), to: ip(text) },
});
const port = (from: number, to = from): FilterPlan => ({ kind: "term", term: { kind: "port", from, to } });
const all: FilterPlan = { kind: "all" };

describe("planFilter", () => {
  it("turns host, net and port primitives into index terms", () => {
    expect(planFilter("host 10.1.2.3")).toEqual(host4("10.1.2.3"));
    expect(planFilter("src host 10.1.2.3")).toEqual(host4("10.1.2.3"));
    expect(planFilter("ip dst 10.1.2.3")).toEqual(host4("10.1.2.3"));
    expect(planFilter("10.1.2.3")).toEqual(host4("10.1.2.3"));
    expect(planFilter("net 10.1.0.0/16")).toEqual({
      kind: "term",
      term: { kind: "ip4", from: ip("10.1.0.0"), to: ip("10.1.255.255") },
    });
    expect(planFilter("net 10.1")).toEqual(planFilter("net 10.1.0.0/16"));
    expect(planFilter("dst net 192.168.7.0 mask 255.255.255.0")).toEqual({
      kind: "term",
      term: { kind: "ip4", from: ip("192.168.7.0"), to: ip("192.168.7.255") },
    });
    expect(planFilter("tcp dst port 443")).toEqual(port(443));
    expect(planFilter("portrange 1000-1010")).toEqual(port(1000, 1010));
    expect(planFilter("udp")).toEqual({ kind: "term", term: { kind: "proto", value: 17 } });
    expect(planFilter("ip proto 47")).toEqual({ kind: "term", term: { kind: "proto", value: 47 } });
    expect(planFilter("vlan 100")).toEqual({ kind: "term", term: { kind: "vlan", id: 100 } });
  });

  it("reads IPv6 hosts and nets", () => {
    const plan = planFilter("ip6 net 2001:db8::/32");
    expect(plan).toMatchObject({ kind: "term", term: { kind: "ip6", bits: 32 } });
    expect(parseIp6("2001:db8::1")).toEqual(
      Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    );
    expect(parseIp6("::ffff:1.2.3.4")?.slice(10)).toEqual(Uint8Array.from([0xff, 0xff, 1, 2, 3, 4]));
    expect(parseIp6("1::2::3")).toBeUndefined();
  });

  it("combines with and/or at equal precedence, left to right, and inherits qualifiers", () => {
    expect(planFilter("host 10.0.0.1 and port 80 or port 443")).toEqual({
      kind: "or",
      left: { kind: "and", left: host4("10.0.0.1"), right: port(80) },
      right: port(443),
    });
    expect(planFilter("port 80 or 443")).toEqual({ kind: "or", left: port(80), right: port(443) });
    expect(planFilter("host 10.0.0.1 && (port 22 || port 23)")).toEqual({
      kind: "and",
      left: host4("10.0.0.1"),
      right: { kind: "or", left: port(22), right: port(23) },
    });
  });

  it("plans what the index cannot narrow as a scan, keeping the rest", () => {
    expect(planFilter("host 10.0.0.1 and tcp")).toEqual({
      kind: "and",
      left: host4("10.0.0.1"),
      right: { kind: "term", term: { kind: "proto", value: 6 } },
    });
    expect(planFilter("not host 10.0.0.1")).toEqual(all);
    expect(planFilter("not host 10.0.0.1 and port 53")).toEqual(port(53));
    expect(planFilter("host 10.0.0.1 or not port 53")).toEqual(all);
    expect(planFilter("tcp[tcpflags] & tcp-syn != 0")).toEqual(all);
    expect(planFilter("ip[6:2] & 0x1fff != 0 and host 10.0.0.1")).toEqual(all);
    expect(planFilter("ether host aa:bb:cc:dd:ee:ff")).toEqual(all);
    expect(planFilter("less 100")).toEqual(all);
    expect(planFilter("port http")).toEqual(all);
    expect(planFilter("host example.com")).toEqual(all);
    expect(planFilter("")).toEqual(all);
    expect(planFilter("host (")).toEqual(all);
    // libpcap reads what follows these inside an encapsulation the index does not parse.
    expect(planFilter("pppoes and host 10.0.0.1")).toEqual(all);
    expect(planFilter("mpls 17 and port 80")).toEqual(all);
  });
});
