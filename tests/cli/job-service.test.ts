/**
 * The collector's JobService and AuthService over real gRPC, called with the typed client of
 * @pcapfleet/proto against a real collector and agent (tests/cli/fleet.ts), on embedded PGlite
 * and, when DATABASE_URL is set, on a scratch Postgres: roles per method, validation as POST
 * /jobs does it, WatchJob's end, DownloadPcap from an offset, ListSensors pages.
 */
import { createHash } from "node:crypto";
import type { ServiceError } from "@grpc/grpc-js";
import * as grpc from "@grpc/grpc-js";
import { GrpcStatus } from "@pcapfleet/core";
import {
  AuthService,
  type CallOptions,
  createChannel,
  createClient,
  type DownloadPcapResponse,
  type Job,
  JobService,
  JobStatus,
  SensorState,
  TaskError,
  TaskStatus,
  type TypedClient,
} from "@pcapfleet/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, type ScratchDb } from "../support/backends.js";
import { type Fleet, PASSWORD, startFleet } from "./fleet.js";

const status = (error: unknown): number | undefined => (error as Partial<ServiceError>).code;
const as = (token: string): CallOptions => {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return { metadata };
};
async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const message of stream) all.push(message);
  return all;
}

describe.each(dbBackends())("JobService over gRPC on $name", (backend) => {
  let scratch: ScratchDb | undefined;
  let fleet: Fleet;
  let channel: grpc.Client;
  let jobs: TypedClient<typeof JobService>;
  let auth: TypedClient<typeof AuthService>;
  const tokens: Record<string, string> = {};
  let spec: { startTime: { seconds: bigint }; endTime: { seconds: bigint }; sensors: string[] };
  let done: Job;

  beforeAll(async () => {
    if (backend.name === "postgres") scratch = await backend.create();
    fleet = await startFleet(`grpc-${backend.name}`, scratch?.url);
    channel = createChannel(fleet.collector.grpcAddress);
    jobs = createClient(JobService, channel);
    auth = createClient(AuthService, channel);
    for (const user of ["admin", "analyst", "viewer"]) {
      tokens[user] = (await auth.login({ username: user, password: PASSWORD })).tokens?.accessToken ?? "";
    }
    spec = {
      startTime: { seconds: BigInt(fleet.startSec + 1) },
      endTime: { seconds: BigInt(fleet.startSec + 4) },
      sensors: ["sensor-a"],
    };
    const submitted = await jobs.submitJob(
      { spec: { ...spec, protocol: "tcp" } },
      as(tokens["analyst"] ?? ""),
    );
    const watched = await collect(
      jobs.watchJob({ jobId: submitted.job?.id ?? "" }, as(tokens["viewer"] ?? "")).responses,
    );
    done = watched.at(-1)?.job as Job;
  }, 180_000);

  afterAll(async () => {
    channel?.close();
    await fleet?.stop();
    await scratch?.drop();
  });

  it("logs in and refreshes once per refresh token, as POST /login and /refresh do", async () => {
    await expect(auth.login({ username: "admin", password: "wrong" })).rejects.toMatchObject({
      code: GrpcStatus.UNAUTHENTICATED,
      details: "invalid username or password",
    });
    await expect(auth.login({ username: "", password: "x" })).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: "username is required",
    });
    const pair = (await auth.login({ username: "viewer", password: PASSWORD })).tokens;
    expect(pair).toMatchObject({ username: "viewer", role: "viewer", expiresIn: 900 });
    const next = await auth.refresh({ refreshToken: pair?.refreshToken ?? "" });
    expect(next.tokens?.accessToken).not.toBe(pair?.accessToken);
    const reuse = await auth.refresh({ refreshToken: pair?.refreshToken ?? "" }).catch((e: unknown) => e);
    expect(status(reuse)).toBe(GrpcStatus.UNAUTHENTICATED);
    // The same limiter as POST /login: five failures for a name, then it is refused outright.
    for (let i = 0; i < 5; i++) await auth.login({ username: "ghost", password: "x" }).catch(() => undefined);
    const limited = await auth.login({ username: "ghost", password: "x" }).catch((e: unknown) => e);
    expect(limited).toMatchObject({
      code: GrpcStatus.RESOURCE_EXHAUSTED,
      details: expect.stringMatching(/too many failed logins/),
    });
  });

  it("gives each method the role of its HTTP endpoint", async () => {
    const viewer = as(tokens["viewer"] ?? "");
    expect(status(await jobs.listSensors({}).catch((e: unknown) => e))).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(status(await jobs.getJob({ jobId: done.id }, as("garbage")).catch((e: unknown) => e))).toBe(
      GrpcStatus.UNAUTHENTICATED,
    );
    expect((await jobs.getJob({ jobId: done.id }, viewer)).job?.id).toBe(done.id);
    expect((await jobs.listJobs({}, viewer)).jobs.length).toBeGreaterThan(0);
    await expect(jobs.submitJob({ spec }, viewer)).rejects.toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      details: "requires role analyst (you are viewer)",
    });
    const download = await collect(jobs.downloadPcap({ jobId: done.id }, viewer).responses).catch(
      (e: unknown) => e,
    );
    expect(status(download)).toBe(GrpcStatus.PERMISSION_DENIED);
    // Analysts cancel their own jobs only; admins any.
    const later = { ...spec, scheduledAt: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600) } };
    const adminJob = (await jobs.submitJob({ spec: later }, as(tokens["admin"] ?? ""))).job?.id ?? "";
    const denied = await jobs
      .cancelJob({ jobId: adminJob }, as(tokens["analyst"] ?? ""))
      .catch((e: unknown) => e);
    expect(denied).toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      details: expect.stringMatching(/belongs to admin/),
    });
    const own = (await jobs.submitJob({ spec: later }, as(tokens["analyst"] ?? ""))).job?.id ?? "";
    expect((await jobs.cancelJob({ jobId: own }, as(tokens["analyst"] ?? ""))).job?.status).toBe(
      JobStatus.CANCELLED,
    );
    expect((await jobs.cancelJob({ jobId: adminJob }, as(tokens["admin"] ?? ""))).job?.status).toBe(
      JobStatus.CANCELLED,
    );
  });

  it("validates a job as POST /jobs does and stores nothing for a bad one", async () => {
    const admin = as(tokens["admin"] ?? "");
    const before = (await jobs.listJobs({ limit: 500 }, admin)).jobs.length;
    const bad: [unknown, RegExp][] = [
      [{}, /^spec is required$/],
      [{ spec: { ...spec, endTime: undefined } }, /^end_time is required$/],
      [
        { spec: { ...spec, startTime: spec.endTime, endTime: spec.startTime } },
        /end_time must be after start_time/,
      ],
      [{ spec: { ...spec, filter: "tcp port nonsense" } }, /^bad filter 'tcp port nonsense'/],
      [{ spec: { ...spec, sensors: ["no-such-sensor"] } }, /no-such-sensor/],
      [{ spec: { ...spec, srcIp: "10.0.0.300" } }, /^src_ip: /],
      [{ spec: { ...spec, startTime: { seconds: 10n ** 15n } } }, /^start_time: timestamp out of range$/],
    ];
    for (const [request, message] of bad) {
      const error = await jobs.submitJob(request as never, admin).catch((e: unknown) => e);
      expect(error, String(message)).toMatchObject({
        code: GrpcStatus.INVALID_ARGUMENT,
        details: expect.stringMatching(message),
      });
    }
    expect((await jobs.listJobs({ limit: 500 }, admin)).jobs.length).toBe(before);
    expect(status(await jobs.getJob({ jobId: "nope" }, admin).catch((e: unknown) => e))).toBe(
      GrpcStatus.NOT_FOUND,
    );
    expect(status(await jobs.listJobs({ before: "nope" }, admin).catch((e: unknown) => e))).toBe(
      GrpcStatus.INVALID_ARGUMENT,
    );
  });

  it("serves the job REST serves, and audits the submit", async () => {
    expect(done).toMatchObject({ status: JobStatus.COMPLETE, owner: "analyst", effectiveFilter: "tcp" });
    expect(done.tasks).toHaveLength(1);
    expect(done.tasks[0]).toMatchObject({
      sensor: "sensor-a",
      status: TaskStatus.COMPLETE,
      error: TaskError.UNSPECIFIED,
    });
    const rest = (await fleet.api(`/jobs/${done.id}`)).body as {
      result: { sha256: string; bytes: number; packets: number };
    };
    expect(done.sha256).toBe(rest.result.sha256);
    expect([Number(done.bytes), Number(done.packets)]).toEqual([rest.result.bytes, rest.result.packets]);
    expect(done.spec?.startTime?.seconds).toBe(BigInt(fleet.startSec + 1));
    const audit = await fleet.api("/admin/audit?action=job.submit");
    expect(JSON.stringify(audit.body)).toContain(done.id);
  });

  it("watches a job until it ends, also when it is cancelled", async () => {
    const admin = as(tokens["admin"] ?? "");
    const later = { ...spec, scheduledAt: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600) } };
    const id = (await jobs.submitJob({ spec: later }, admin)).job?.id ?? "";
    const seen: Job[] = [];
    const watching = (async () => {
      for await (const message of jobs.watchJob({ jobId: id }, admin).responses) {
        if (message.job === undefined) continue;
        seen.push(message.job);
        if (seen.length === 1) await jobs.cancelJob({ jobId: id }, admin);
      }
    })();
    await watching; // the stream ended by itself after the terminal status
    expect(seen[0]?.status).toBe(JobStatus.QUEUED);
    expect(seen.at(-1)?.status).toBe(JobStatus.CANCELLED);
    expect(seen.at(-1)?.tasks.every((t) => t.status === TaskStatus.CANCELLED)).toBe(true);
    const finished = await collect(jobs.watchJob({ jobId: done.id }, admin).responses);
    expect(finished.map((m) => m.job?.status)).toEqual([JobStatus.COMPLETE]);
    const unknown = await collect(
      jobs.watchJob({ jobId: "5d5e0b55-0000-4000-8000-000000000000" }, admin).responses,
    ).catch((e: unknown) => e);
    expect(status(unknown)).toBe(GrpcStatus.NOT_FOUND);
  });

  it("downloads the result in numbered 256 KiB chunks, from any offset, with its sha256", async () => {
    const analyst = as(tokens["analyst"] ?? "");
    const whole = await fleet.restDownload(done.id);
    expect(whole.length).toBeGreaterThan(600_000);
    const read = async (offset: bigint): Promise<{ data: Buffer; messages: DownloadPcapResponse[] }> => {
      const messages = await collect(jobs.downloadPcap({ jobId: done.id, offset }, analyst).responses);
      const chunks = messages.flatMap((m) => (m.kind.case === "chunk" ? [m.kind.value] : []));
      let at = offset;
      chunks.forEach((chunk, i) => {
        expect([chunk.sequence, chunk.offset]).toEqual([BigInt(i), at]);
        if (i < chunks.length - 1) expect(chunk.data.length).toBe(256 * 1024);
        at += BigInt(chunk.data.length);
      });
      expect(messages.at(-1)?.kind).toEqual({
        case: "done",
        value: expect.objectContaining({ bytes: BigInt(whole.length), sha256: done.sha256 }),
      });
      return { data: Buffer.concat(chunks.map((c) => c.data)), messages };
    };
    const full = await read(0n);
    expect(full.data.equals(whole)).toBe(true);
    expect(createHash("sha256").update(full.data).digest("hex")).toBe(done.sha256);
    const tail = await read(300_001n);
    expect(tail.data.equals(whole.subarray(300_001))).toBe(true);
    expect((await read(BigInt(whole.length))).messages).toHaveLength(1);
    const past = await collect(
      jobs.downloadPcap({ jobId: done.id, offset: BigInt(whole.length + 1) }, analyst).responses,
    ).catch((e: unknown) => e);
    expect(past).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: expect.stringMatching(/past the end/),
    });
    const later = { ...spec, scheduledAt: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600) } };
    const queued = (await jobs.submitJob({ spec: later }, analyst)).job?.id ?? "";
    const early = await collect(jobs.downloadPcap({ jobId: queued }, analyst).responses).catch(
      (e: unknown) => e,
    );
    expect(early).toMatchObject({
      code: GrpcStatus.ALREADY_EXISTS,
      details: `job ${queued} is queued: it has no result yet`,
    });
    await jobs.cancelJob({ jobId: queued }, analyst);
  });

  it("lists sensors with their state and status, by location and in pages", async () => {
    const viewer = as(tokens["viewer"] ?? "");
    const all = await jobs.listSensors({}, viewer);
    expect(all.sensors.map((s) => [s.identity?.name, s.state])).toEqual([
      ["sensor-a", expect.toBeOneOf([SensorState.ONLINE, SensorState.DEGRADED])],
      ["sensor-gone", SensorState.OFFLINE],
    ]);
    const a = all.sensors[0];
    // The ring's newest packet, at the millisecond precision the collector keeps.
    const newestNs = ((fleet.ring.at(-1)?.lastNs ?? 0n) / 1_000_000n) * 1_000_000n;
    expect(a?.status?.stores[0]?.pcap?.newestPacketNs).toBe(newestNs);
    expect(a?.lastHeartbeatAt?.seconds).toBeGreaterThan(BigInt(fleet.startSec));
    const first = await jobs.listSensors({ limit: 1 }, viewer);
    expect([first.sensors.length, first.nextAfter]).toEqual([1, "sensor-a"]);
    const second = await jobs.listSensors({ limit: 1, after: first.nextAfter }, viewer);
    expect(second.sensors.map((s) => s.identity?.name)).toEqual(["sensor-gone"]);
    expect((await jobs.listSensors({ location: "elsewhere" }, viewer)).sensors).toEqual([]);
    const bad = await jobs.listSensors({ limit: 5000 }, viewer).catch((e: unknown) => e);
    expect(status(bad)).toBe(GrpcStatus.INVALID_ARGUMENT);
  });
});
