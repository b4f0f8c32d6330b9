import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends } from "../db/testing.js";
import { type ErrorBody, json } from "../http/testing.js";
import { kvBackends } from "../kv/testing.js";
import { eventually } from "../sensors/testing.js";
import { addSensor, createNetworkHarness, type NetworkHarness } from "./testing.js";

interface Entry {
  prefix: string;
  location: string;
  source: string;
  description: string;
}

const combos = dbBackends().flatMap((db) =>
  kvBackends().map((kv) => ({ name: `${db.name}+${kv.name}`, db, kv })),
);

describe.each(combos)("network admin routes on $name", ({ db, kv }) => {
  let n: NetworkHarness;
  beforeAll(async () => {
    n = await createNetworkHarness(db, kv);
    await addSensor(n.h.scratch.db, "s1", "paris");
  });
  afterAll(() => n?.close());

  const expectError = async (res: Response, status: number, message: RegExp) => {
    const body = await json<ErrorBody>(res);
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(body.message).toMatch(message);
  };
  const where = async (address: string, app = n.app) => {
    const token = (await n.h.tokens("viewer-user")).access_token;
    const res = await app.request(`/api/v1/network/lookup?address=${encodeURIComponent(address)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const { results } = await json<{ results: { matches: Entry[] }[] }>(res);
    return results[0]?.matches.map((m) => `${m.location} ${m.source}`);
  };

  it("creates, updates and deletes locations, for admins only", async () => {
    const body = {
      name: "berlin",
      description: "HQ",
      latitude: 52.52,
      longitude: 13.4,
      metadata: { rack: "B2" },
    };
    expect((await n.call("POST", "/api/v1/network/locations", "analyst", body)).status).toBe(403);
    const created = await n.call("POST", "/api/v1/network/locations", "admin", body);
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ ...body, created_at: expect.any(String) });
    await expectError(
      await n.call("POST", "/api/v1/network/locations", "admin", body),
      409,
      /berlin.*exists/,
    );

    const patched = await n.call("PATCH", "/api/v1/network/locations/berlin", "admin", { latitude: null });
    expect(await json(patched)).toMatchObject({ description: "HQ", latitude: null, longitude: 13.4 });
    await expectError(
      await n.call("PATCH", "/api/v1/network/locations/nowhere", "admin", { description: "x" }),
      404,
      /no location "nowhere"/,
    );
    await expectError(
      await n.call("PATCH", "/api/v1/network/locations/berlin", "admin", { latitude: 91 }),
      400,
      /latitude/,
    );
    await expectError(
      await n.call("POST", "/api/v1/network/locations", "admin", { name: "x", metadata: [1] }),
      400,
      /metadata/,
    );
    await expectError(await n.call("DELETE", "/api/v1/network/locations/paris", "admin"), 409, /1 sensor/);
    expect((await n.call("DELETE", "/api/v1/network/locations/berlin", "admin")).status).toBe(204);
    await expectError(
      await n.call("DELETE", "/api/v1/network/locations/berlin", "admin"),
      404,
      /no location/,
    );
    const audit = await n.h.scratch.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE target = 'berlin' ORDER BY id",
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      "location.create",
      "location.update",
      "location.delete",
    ]);
  });

  it("adds manual entries that win over learned ones, and removes them", async () => {
    await n.h.scratch.db.query("INSERT INTO locations (name) VALUES ('lyon') ON CONFLICT DO NOTHING");
    await n.h.scratch.db.query(
      `INSERT INTO subnet_location_map (prefix, location, source) VALUES
         ('10.20.1.0/24', 'lyon', 'learned'), ('10.20.2.0/24', 'paris', 'learned')`,
    );
    expect(await where("10.20.1.5")).toEqual(["lyon learned"]);
    const entry = { prefix: "10.20.0.0/16", location: "paris", description: "campus" };
    expect((await n.call("POST", "/api/v1/network/subnets", "viewer", entry)).status).toBe(403);
    const added = await n.call("POST", "/api/v1/network/subnets", "admin", entry);
    expect(added.status).toBe(201);
    expect(await json(added)).toMatchObject({ ...entry, source: "manual" });
    expect((await n.call("POST", "/api/v1/network/subnets", "admin", entry)).status).toBe(200);
    // The manual /16 wins over the learned /24 inside it, which is gone; the cache was cleared.
    expect(await where("10.20.1.5")).toEqual(["paris manual"]);
    const left = await n.h.scratch.db.query("SELECT 1 FROM subnet_location_map WHERE source = 'learned'");
    expect(left.rowCount).toBe(0);

    const v6 = await n.call("POST", "/api/v1/network/subnets", "admin", {
      prefix: "2001:DB8:20::/48",
      location: "lyon",
    });
    expect(await json(v6)).toMatchObject({ prefix: "2001:db8:20::/48", location: "lyon" });
    expect(await where("2001:db8:20::1")).toEqual(["lyon manual"]);

    const removed = await n.call(
      "DELETE",
      "/api/v1/network/subnets?prefix=10.20.0.0/16&location=paris",
      "admin",
    );
    expect(await json(removed)).toEqual({ removed: 1 });
    expect(await where("10.20.1.5")).toEqual([]);
    await expectError(
      await n.call("DELETE", "/api/v1/network/subnets?prefix=10.20.0.0/16", "admin"),
      404,
      /no manual entry for 10.20.0.0\/16/,
    );
  });

  it("answers bad prefixes and unknown locations with 400s naming them", async () => {
    const post = (body: unknown) => n.call("POST", "/api/v1/network/subnets", "admin", body);
    await expectError(
      await post({ prefix: "10.1.2.3/24", location: "paris" }),
      400,
      /bits set right of the \/24/,
    );
    await expectError(await post({ prefix: "10.1.2.0/40", location: "paris" }), 400, /bad prefix length/);
    await expectError(await post({ prefix: "banana", location: "paris" }), 400, /not an IPv4 or IPv6/);
    await expectError(
      await post({ prefix: "10.1.2.0/24", location: "atlantis" }),
      400,
      /unknown location "atlantis"/,
    );
    await expectError(await post({ prefix: "10.1.2.0/24" }), 400, /location/);
    await expectError(
      await n.call("DELETE", "/api/v1/network/subnets?prefix=10.1.2.0/99", "admin"),
      400,
      /bad prefix length/,
    );
    await expectError(
      await n.call("GET", "/api/v1/network/lookup?address=10.1.2.300", "viewer"),
      400,
      /not an IPv4 or IPv6/,
    );
    const many = Array.from({ length: 101 }, (_, i) => `10.0.0.${i}`).join(",");
    await expectError(
      await n.call("GET", `/api/v1/network/lookup?address=${many}`, "viewer"),
      400,
      /at most 100/,
    );
  });

  it("clears the lookup cache of every collector", async () => {
    await n.h.scratch.db.query(
      "INSERT INTO subnet_location_map (prefix, location) VALUES ('10.30.0.0/16', 'paris')",
    );
    const other = await n.second();
    expect(await where("10.30.1.1", other.app)).toEqual(["paris manual"]);
    // Changed behind the API's back: the other collector keeps its cached answer...
    await n.h.scratch.db.query(
      "UPDATE subnet_location_map SET location = 'lyon' WHERE prefix = '10.30.0.0/16'",
    );
    expect(await where("10.30.1.1", other.app)).toEqual(["paris manual"]);
    expect((await n.call("POST", "/api/v1/network/locations/clear-cache", "analyst")).status).toBe(403);
    const cleared = await n.call("POST", "/api/v1/network/locations/clear-cache", "admin");
    expect(await json(cleared)).toEqual({ cleared: true });
    // ...until a clear on this collector reaches it through Kv pub/sub.
    expect(await eventually(() => other.lookup.stats().clears > 0)).toBe(true);
    expect(await where("10.30.1.1", other.app)).toEqual(["lyon manual"]);
  });
});
