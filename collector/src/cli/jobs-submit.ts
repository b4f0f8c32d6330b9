/**
 * `pcapfleet jobs submit`: queues a job; with `--wait` follows it to the end, with `-o FILE` also
 * downloads and verifies the result. The exit code tells a script what happened: 0 for complete
 * (and for partial, with a warning naming the sensors that failed), 1 for a job that failed or
 * was cancelled, and the error's code for anything refused on the way (2 bad input, 3 auth...).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AppError, ErrorCode } from "@pcapfleet/core";
import { type CliCommand, type CliIo, type CliValues, stringFlag } from "@pcapfleet/core/cli";
import {
  type Job,
  type JobSpecSchema,
  JobStatusSchema,
  TaskErrorSchema,
  TaskStatusSchema,
} from "@pcapfleet/proto";
import { enumWord } from "../jobs/grpc/job-proto.js";
import { downloadResult } from "./download.js";
import { intFlag, invalid, listFlag, print, timeFlag, wantsJson } from "./flags.js";
import { waitForJob } from "./job-wait.js";
import { jobDetail, jobJson } from "./output.js";
import { globalHelp, globalOptions, openSession, type Session } from "./session.js";

const help = `Usage: pcapfleet jobs submit --from T --to T [--filter EXPR] [--src-ip A] [--dst-ip A]
                             [--src-port N] [--dst-port N] [--protocol P] [--sensor S]...
                             [--location L]... [--description D] [--max-bytes N]
                             [--at T] [--wait] [-o FILE]

Queues a job for the packets with from <= timestamp < to that match the fields and EXPR, from
the named sensors and locations (neither: routed by the subnet map). Prints the job.

Options:
  --from T, --to T   window, RFC 3339 or epoch seconds (1700000000.5)
  --filter EXPR      tcpdump expression, ANDed with the fields
  --src-ip A, --dst-ip A       address or CIDR prefix (matched in both directions)
  --src-port N, --dst-port N   port (matched in both directions)
  --protocol P       tcp, udp, icmp, icmp6, sctp or an IP protocol number
  --sensor S         target sensor (repeatable)
  --location L       target location (repeatable)
  --description D    free text shown with the job
  --max-bytes N      cap on the merged result
  --at T             run no earlier than T (default: now)
  --wait             follow the job until it ends (progress on stderr); exit 1 if it fails
  -o, --output FILE  wait, then download the result to FILE and check its SHA-256
${globalHelp}`;

/** The `jobs submit` command. */
export const submitCommand: CliCommand = {
  name: "submit",
  summary: "queue a PCAP job; --wait to follow it, -o FILE to download the result",
  help,
  options: {
    ...globalOptions,
    from: { type: "string" },
    to: { type: "string" },
    filter: { type: "string" },
    "src-ip": { type: "string" },
    "dst-ip": { type: "string" },
    "src-port": { type: "string" },
    "dst-port": { type: "string" },
    protocol: { type: "string" },
    sensor: { type: "string", multiple: true },
    location: { type: "string", multiple: true },
    description: { type: "string" },
    "max-bytes": { type: "string" },
    at: { type: "string" },
    wait: { type: "boolean" },
    output: { type: "string", short: "o" },
  },
  run: submit,
};

async function specOf(values: CliValues): Promise<MessageInitShape<typeof JobSpecSchema>> {
  const startTime = await timeFlag(values, "from");
  const endTime = await timeFlag(values, "to");
  const scheduledAt = await timeFlag(values, "at");
  if (startTime === undefined || endTime === undefined) throw invalid("--from T and --to T are required");
  return {
    startTime,
    endTime,
    filter: stringFlag(values, "filter") ?? "",
    srcIp: stringFlag(values, "src-ip") ?? "",
    dstIp: stringFlag(values, "dst-ip") ?? "",
    srcPort: intFlag(values, "src-port", 1, 65535) ?? 0,
    dstPort: intFlag(values, "dst-port", 1, 65535) ?? 0,
    protocol: stringFlag(values, "protocol") ?? "",
    sensors: listFlag(values, "sensor"),
    locations: listFlag(values, "location"),
    description: stringFlag(values, "description") ?? "",
    maxBytes: BigInt(intFlag(values, "max-bytes", 24, Number.MAX_SAFE_INTEGER) ?? 0),
    ...(scheduledAt === undefined ? {} : { scheduledAt }),
  };
}

/** The sensors whose tasks failed, with why: `sensor-c (sensor_offline: ...)`. */
function failedSensors(job: Job): string {
  return job.tasks
    .filter((t) => enumWord(TaskStatusSchema, t.status) === "failed")
    .map((t) => `${t.sensor} (${enumWord(TaskErrorSchema, t.error)}: ${t.errorMessage})`)
    .join(", ");
}

/**
 * Reports how a finished job ended and resolves to the exit code: 1 (with the job's error on
 * stderr) for failed or cancelled, 0 otherwise, with a warning for partial.
 */
export function reportEnd(job: Job, io: CliIo, name: string): number {
  const status = enumWord(JobStatusSchema, job.status);
  if (status === "failed" || status === "cancelled") {
    const why = job.errorMessage || failedSensors(job) || "no reason given";
    io.stderr.write(`${name}: job ${job.id} ${status === "failed" ? "failed" : "was cancelled"}: ${why}\n`);
    return 1;
  }
  if (status === "partial") {
    io.stderr.write(`${name}: warning: job ${job.id} is partial; failed on ${failedSensors(job)}\n`);
  }
  return 0;
}

async function submit(values: CliValues, _positionals: string[], io: CliIo): Promise<number> {
  const spec = await specOf(values);
  const output = stringFlag(values, "output");
  if (output === "") throw invalid("-o needs a file name");
  const wait = values["wait"] === true || output !== undefined;
  const session = await openSession(values, io);
  try {
    const answer = await session.authed((options) => session.jobs.submitJob({ spec }, options));
    const queued = required(answer.job);
    if (!wait) {
      print(io, values, jobJson(queued), () => jobDetail(jobJson(queued)));
      return 0;
    }
    if (!wantsJson(values)) io.stderr.write(`job ${queued.id} queued on ${queued.tasks.length} sensor(s)\n`);
    return await finish(session, queued.id, output, values, io);
  } finally {
    session.close();
  }
}

/**
 * Waits for a job, prints it and reports its end (see {@link reportEnd}), then downloads its
 * result to `output` when asked and the job has one. Resolves to the exit code.
 */
export async function finish(
  session: Session,
  jobId: string,
  output: string | undefined,
  values: CliValues,
  io: CliIo,
  name = "pcapfleet jobs submit",
): Promise<number> {
  // A terminal gets a progress bar; anything else (a log, CI) one line per change.
  const isTTY = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const final = await waitForJob(session, jobId, { write: (text) => io.stderr.write(text), isTTY });
  print(io, values, jobJson(final), () => jobDetail(jobJson(final)));
  const code = reportEnd(final, io, name);
  if (code !== 0 || output === undefined) return code;
  const file = await downloadResult(session, final.id, output);
  io.stderr.write(`wrote ${file.path}: ${file.bytes} bytes, sha256 ${file.sha256} (verified)\n`);
  return 0;
}

function required(job: Job | undefined): Job {
  if (job === undefined) throw new AppError(ErrorCode.Internal, "the collector answered without a job");
  return job;
}
