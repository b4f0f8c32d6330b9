import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { AppError, ErrorCode } from "@pcapfleet/core/errors";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { silentLogger } from "../db/testing.js";
import { kvBackends, type ScratchKv } from "../kv/testing.js";
import type { Kv } from "../kv/types.js";
import { JOB_PROGRESS_CHANNEL, SENSOR_STATUS_CHANNEL } from "./events.js";
import { createRealtimeHub, type RealtimeHub } from "./hub.js";
import {
  CLOSE_TOKEN_EXPIRED,
  createRealtimeRoute,
  createWebSocketServer,
  type RealtimeUser,
} from "./ws-route.js";

/**
 * Token check of these tests: a table of tokens. The real one (JWT verification) is tested
 * with the auth module; here only the socket's use of it matters.
 */
function tokenTable(users: Record<string, RealtimeUser>) {
  return async (token: string): Promise<RealtimeUser> => {
    const user = users[token];
    if (user === undefined) throw new AppError(ErrorCode.Unauthenticated, "invalid token");
    return user;
  };
}

interface Served {
  url: string;
  hub: RealtimeHub;
  close(): Promise<void>;
}

async function serveRealtime(kv: Kv, users: Record<string, RealtimeUser>): Promise<Served> {
  const log = silentLogger();
  const hub = await createRealtimeHub({ kv, log });
  const app = new Hono();
  app.get("/api/v1/ws", ...createRealtimeRoute({ hub, authenticate: tokenTable(users), log }));
  app.onError((error, c) => {
    const appError = AppError.from(error);
    return c.json({ code: appError.code, message: appError.message }, appError.httpStatus as 401);
  });
  const wss = createWebSocketServer();
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", websocket: { server: wss } }, () =>
      resolve(s),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/api/v1/ws`,
    hub,
    async close() {
      await hub.close();
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Opens a socket and collects its JSON messages; resolves once the hello arrived. */
async function connect(url: string, protocols?: string[]) {
  const messages: Array<Record<string, unknown>> = [];
  const ws = new WebSocket(url, protocols);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      messages.push(message);
      if (message["type"] === "hello") resolve();
    });
    ws.on("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    ws.on("error", reject);
  });
  return { ws, messages, closed };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const later = () => new Date(Date.now() + 3_600_000);

describe.each(kvBackends())("realtime feed on $name", (backend) => {
  let scratch: ScratchKv;
  const servers: Served[] = [];
  beforeEach(async () => {
    scratch = await backend.create();
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    await scratch.drop();
  });

  it("pushes sensor status and job progress published by any collector", async () => {
    const users = { t1: { username: "ana", role: "analyst", expiresAt: later() } };
    const a = await serveRealtime(scratch.kv, users);
    const b = await serveRealtime(await scratch.open(), users);
    servers.push(a, b);
    const viaQuery = await connect(`${a.url}?access_token=t1`);
    const viaProtocol = await connect(b.url, ["bearer", "t1"]);
    expect(viaProtocol.ws.protocol).toBe("bearer");
    expect(viaQuery.messages[0]).toEqual({ type: "hello", user: "ana", role: "analyst" });
    // Published on collector A's Kv handle; clients of both collectors get it.
    await scratch.kv.publish(
      SENSOR_STATUS_CHANNEL,
      JSON.stringify({
        sensor: "s1",
        status: "degraded",
        reasons: ["disk over 90%"],
        at: "2026-11-28T03:00:00Z",
      }),
    );
    await scratch.kv.publish(
      JOB_PROGRESS_CHANNEL,
      JSON.stringify({ job_id: "j1", status: "running", progress: 0.5 }),
    );
    for (const client of [viaQuery, viaProtocol]) {
      await until(() => client.messages.length === 3);
      expect(client.messages.slice(1)).toEqual([
        {
          type: "sensor.status",
          sensor: "s1",
          status: "degraded",
          reasons: ["disk over 90%"],
          at: "2026-11-28T03:00:00Z",
        },
        { type: "job.progress", job_id: "j1", status: "running", progress: 0.5 },
      ]);
      client.ws.close();
    }
    await until(() => a.hub.size() === 0 && b.hub.size() === 0);
  });

  it("refuses a missing or bad token before upgrading", async () => {
    const server = await serveRealtime(scratch.kv, {});
    servers.push(server);
    await expect(connect(server.url)).rejects.toThrow("HTTP 401");
    await expect(connect(`${server.url}?access_token=nope`)).rejects.toThrow("HTTP 401");
    await expect(connect(server.url, ["bearer", "nope"])).rejects.toThrow("HTTP 401");
    expect(server.hub.size()).toBe(0);
  });

  it("closes the socket when the token expires", async () => {
    const users = { soon: { username: "v", role: "viewer", expiresAt: new Date(Date.now() + 300) } };
    const server = await serveRealtime(scratch.kv, users);
    servers.push(server);
    const client = await connect(`${server.url}?access_token=soon`);
    expect(await client.closed).toEqual({ code: CLOSE_TOKEN_EXPIRED, reason: "token expired" });
    await until(() => server.hub.size() === 0);
  });

  it("skips malformed messages and keeps delivering", async () => {
    const users = { t: { username: "a", role: "admin", expiresAt: later() } };
    const server = await serveRealtime(scratch.kv, users);
    servers.push(server);
    const client = await connect(`${server.url}?access_token=t`);
    await scratch.kv.publish(SENSOR_STATUS_CHANNEL, "not json");
    await scratch.kv.publish(SENSOR_STATUS_CHANNEL, JSON.stringify({ sensor: 5 }));
    await scratch.kv.publish(
      SENSOR_STATUS_CHANNEL,
      JSON.stringify({ sensor: "s", status: "offline", at: "x" }),
    );
    await until(() => client.messages.length === 2);
    expect(client.messages[1]).toEqual({
      type: "sensor.status",
      sensor: "s",
      status: "offline",
      reasons: [],
      at: "x",
    });
    client.ws.close();
  });
});
