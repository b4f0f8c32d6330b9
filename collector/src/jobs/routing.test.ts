import { AppError } from "@pcapfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb } from "../db/testing.js";
import { addSensor, migrateNetwork } from "../network/testing.js";
import { resolveTargets } from "./routing.js";
import type { JobSpec } from "./types.js";

const window = { start_time: "2026-01-01T00:00:00Z", end_time: "2026-01-01T01:00:00Z" };

describe.each(dbBackends())("job routing on $name", (backend) => {
  let scratch: ScratchDb;
  beforeAll(async () => {
    scratch = await backend.create();
    await migrateNetwork(scratch.db);
    for (const [sensor, location] of [
      ["a1", "a"],
      ["a2", "a"],
      ["b1", "b"],
      ["c1", "c"],
      ["dc1", "dc"],
    ] as const) {
      await addSensor(scratch.db, sensor, location);
    }
    await scratch.db.query("INSERT INTO locations (name) VALUES ('empty')");
    await scratch.db.query(
      `INSERT INTO subnet_location_map (prefix, location, source) VALUES
         ('10.1.0.0/16', 'a', 'learned'), ('10.1.2.0/24', 'b', 'learned'),
         ('10.9.0.0/16', 'dc', 'manual'), ('10.9.1.0/24', 'b', 'learned'),
         ('2001:db8:1::/48', 'c', 'learned'), ('10.5.0.0/16', 'empty', 'manual')`,
    );
  });
  afterAll(() => scratch.drop());

  const route = async (spec: Partial<JobSpec>) =>
    (await resolveTargets(scratch.db, { ...window, ...spec }))
      .map((t) => `${t.sensor}: ${t.routedBy}`)
      .sort();

  it("sends a job with addresses to the sensors where the map places them", async () => {
    expect(await route({ src_ip: "10.1.2.3" })).toEqual([
      "b1: subnet map: 10.1.2.3 is in 10.1.2.0/24 (learned), seen at location b",
    ]);
    expect(await route({ dst_ip: "10.1.77.1" })).toEqual([
      "a1: subnet map: 10.1.77.1 is in 10.1.0.0/16 (learned), seen at location a",
      "a2: subnet map: 10.1.77.1 is in 10.1.0.0/16 (learned), seen at location a",
    ]);
    expect(await route({ dst_ip: "2001:db8:1::5" })).toEqual([
      "c1: subnet map: 2001:db8:1::5 is in 2001:db8:1::/48 (learned), seen at location c",
    ]);
    expect(await route({ src_ip: "10.1.2.3", dst_ip: "2001:db8:1:0::5" })).toEqual([
      "b1: subnet map: 10.1.2.3 is in 10.1.2.0/24 (learned), seen at location b",
      "c1: subnet map: 2001:db8:1::5 is in 2001:db8:1::/48 (learned), seen at location c",
    ]);
  });

  it("prefers manual entries, and reaches the subnets inside a network", async () => {
    expect(await route({ src_ip: "10.9.1.5" })).toEqual([
      "dc1: subnet map: 10.9.1.5 is in 10.9.0.0/16 (manual), seen at location dc",
    ]);
    expect(await route({ src_ip: "10.1.0.0/16" })).toEqual([
      "a1: subnet map: 10.1.0.0/16 is in 10.1.0.0/16 (learned), seen at location a",
      "a2: subnet map: 10.1.0.0/16 is in 10.1.0.0/16 (learned), seen at location a",
      "b1: subnet map: 10.1.0.0/16 contains 10.1.2.0/24 (learned), seen at location b",
    ]);
  });

  it("falls back to every sensor when the map places no address where a sensor is", async () => {
    const all = (why: string) => ["a1", "a2", "b1", "c1", "dc1"].map((s) => `${s}: ${why}`);
    const unknown = "all sensors: the subnet map knows none of the job's addresses";
    expect(await route({ src_ip: "172.16.0.1" })).toEqual(all(unknown));
    expect(await route({ src_ip: "10.5.1.1" })).toEqual(all(unknown));
    expect(await route({})).toEqual(all("all sensors"));
  });

  it("keeps named sensors and locations as they are", async () => {
    expect(await route({ sensors: ["a1"], src_ip: "10.1.2.3" })).toEqual(["a1: named in the job"]);
    expect(await route({ locations: ["b"] })).toEqual(["b1: at location b"]);
    await expect(route({ locations: ["nowhere"] })).rejects.toThrow(AppError);
    await expect(route({ sensors: ["ghost"] })).rejects.toThrow(/unknown sensor: "ghost"/);
  });
});
