import { AppError } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb } from "../db/testing.js";
import { lookupAddresses } from "./lookup.js";
import { migrateNetwork } from "./testing.js";

const entries: Array<[string, string, "manual" | "learned"]> = [
  ["10.0.0.0/8", "hq", "learned"],
  ["10.1.0.0/16", "branch", "learned"],
  ["10.1.2.0/24", "lab", "learned"],
  ["10.1.2.128/25", "dmz", "learned"],
  ["10.9.0.0/16", "dc", "manual"],
  ["10.9.9.0/24", "branch", "learned"],
  ["192.168.5.0/24", "hq", "manual"],
  ["192.168.5.0/24", "dc", "manual"],
  ["2001:db8::/32", "hq", "learned"],
  ["2001:db8:1::/48", "branch", "learned"],
  ["2001:db8:1:2::/64", "lab", "learned"],
  ["2001:db8:ff::/48", "dc", "manual"],
  ["2001:db8:ff:1::/64", "lab", "learned"],
];

describe.each(dbBackends())("subnet map lookup on $name", (backend) => {
  let scratch: ScratchDb;
  beforeAll(async () => {
    scratch = await backend.create();
    await migrateNetwork(scratch.db);
    for (const name of ["hq", "branch", "lab", "dmz", "dc"]) {
      await scratch.db.query("INSERT INTO locations (name) VALUES ($1)", [name]);
    }
    for (const [prefix, location, source] of entries) {
      await scratch.db.query(
        "INSERT INTO subnet_location_map (prefix, location, source) VALUES ($1, $2, $3)",
        [prefix, location, source],
      );
    }
  });
  afterAll(() => scratch.drop());

  const where = async (address: string) => {
    const result = (await lookupAddresses(scratch.db, [address])).values().next().value;
    return result?.matches.map((m) => `${m.prefix} ${m.location} ${m.source}`);
  };

  it("places an IPv4 address by its longest prefix", async () => {
    expect(await where("10.200.1.1")).toEqual(["10.0.0.0/8 hq learned"]);
    expect(await where("10.1.77.1")).toEqual(["10.1.0.0/16 branch learned"]);
    expect(await where("10.1.2.3")).toEqual(["10.1.2.0/24 lab learned"]);
    expect(await where("10.1.2.200")).toEqual(["10.1.2.128/25 dmz learned"]);
    expect(await where("172.16.0.1")).toEqual([]);
  });

  it("places an IPv6 address by its longest prefix", async () => {
    expect(await where("2001:db8:9::1")).toEqual(["2001:db8::/32 hq learned"]);
    expect(await where("2001:db8:1:7::1")).toEqual(["2001:db8:1::/48 branch learned"]);
    expect(await where("2001:db8:1:2::99")).toEqual(["2001:db8:1:2::/64 lab learned"]);
    expect(await where("2001:db9::1")).toEqual([]);
    // The IPv4 entries never contain an IPv6 address, even an IPv4-mapped one.
    expect(await where("::ffff:10.1.2.3")).toEqual([]);
  });

  it("lets a manual entry win over longer learned ones inside it", async () => {
    expect(await where("10.9.9.9")).toEqual(["10.9.0.0/16 dc manual"]);
    expect(await where("2001:db8:ff:1::1")).toEqual(["2001:db8:ff::/48 dc manual"]);
  });

  it("returns every location of the winning prefix", async () => {
    expect(await where("192.168.5.20")).toEqual(["192.168.5.0/24 dc manual", "192.168.5.0/24 hq manual"]);
  });

  it("answers for several addresses at once, keyed canonically, with the entries inside a network", async () => {
    const found = await lookupAddresses(scratch.db, [
      "10.1.0.0/16",
      "2001:DB8:1:2::1",
      "10.1.2.3",
      "10.1.2.3",
    ]);
    expect([...found.keys()]).toEqual(["10.1.0.0/16", "2001:db8:1:2::1", "10.1.2.3"]);
    const network = found.get("10.1.0.0/16");
    expect(network?.matches.map((m) => m.prefix)).toEqual(["10.1.0.0/16"]);
    expect(network?.within.map((m) => `${m.prefix} ${m.location}`)).toEqual([
      "10.1.2.0/24 lab",
      "10.1.2.128/25 dmz",
    ]);
    expect(found.get("10.1.2.3")?.within).toEqual([]);
    expect(found.get("2001:db8:1:2::1")?.matches[0]?.location).toBe("lab");
    expect(await lookupAddresses(scratch.db, [])).toEqual(new Map());
  });

  it("refuses what is not an address before asking the database", async () => {
    await expect(lookupAddresses(scratch.db, ["10.1.2.3/8"])).rejects.toThrow(AppError);
    await expect(lookupAddresses(scratch.db, ["not-an-ip"])).rejects.toThrow(/address: "not-an-ip"/);
  });
});
