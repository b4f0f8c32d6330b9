/**
 * `pcapfleet jobs ls | show | cancel | download` (and `submit`, in its own file): the job
 * commands, each one call (or one stream) of the collector's JobService.
 */
import type { CliCommand, CliIo, CliProgram, CliValues } from "@pcapfleet/core/cli";
import { stringFlag } from "@pcapfleet/core/cli";
import { type Job, JobStatusSchema } from "@pcapfleet/proto";
import { enumNumber } from "../jobs/grpc/job-proto.js";
import { downloadResult } from "./download.js";
import { intFlag, invalid, jobIdArgument, print } from "./flags.js";
import { finish, submitCommand } from "./jobs-submit.js";
import { jobDetail, jobJson, jobsTable } from "./output.js";
import { globalHelp, globalOptions, openSession, type Session } from "./session.js";

const jobStates = ["queued", "running", "complete", "partial", "failed", "cancelled"];

/** Opens a session for one command and closes it after. */
async function withSession<T>(
  values: CliValues,
  io: CliIo,
  work: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(values, io);
  try {
    return await work(session);
  } finally {
    session.close();
  }
}

const printJob = (io: CliIo, values: CliValues, job: Job | undefined): void => {
  const json = job === undefined ? {} : jobJson(job);
  print(io, values, json, () => jobDetail(json));
};

const lsCommand: CliCommand = {
  name: "ls",
  summary: "list jobs, newest first",
  help: `Usage: pcapfleet jobs ls [--status S] [--owner USER] [--limit N]

Options:
  --status S     only jobs in this state: ${jobStates.join(", ")}
  --owner USER   only this user's jobs
  --limit N      at most N jobs, 1-500 (default 50)
${globalHelp}`,
  options: {
    ...globalOptions,
    status: { type: "string" },
    owner: { type: "string" },
    limit: { type: "string" },
  },
  async run(values, _positionals, io) {
    const status = stringFlag(values, "status");
    if (status !== undefined && !jobStates.includes(status)) {
      throw invalid(`--status must be one of ${jobStates.join(", ")}, not '${status}'`);
    }
    const request = {
      status: status === undefined ? 0 : enumNumber(JobStatusSchema, status),
      owner: stringFlag(values, "owner") ?? "",
      limit: intFlag(values, "limit", 1, 500) ?? 50,
    };
    const answer = await withSession(values, io, (s) => s.authed((o) => s.jobs.listJobs(request, o)));
    const jobs = answer.jobs.map(jobJson).map(({ tasks: _tasks, ...rest }) => rest);
    print(io, values, { jobs, next_before: answer.nextBefore || null }, () => jobsTable(jobs));
    return 0;
  },
};

const showCommand: CliCommand = {
  name: "show",
  summary: "one job with its tasks: status, error code and message per sensor",
  help: `Usage: pcapfleet jobs show ID\n\n${globalHelp}`,
  options: { ...globalOptions },
  positionals: true,
  async run(values, positionals, io) {
    const jobId = jobIdArgument(positionals, "pcapfleet jobs show ID");
    const answer = await withSession(values, io, (s) => s.authed((o) => s.jobs.getJob({ jobId }, o)));
    printJob(io, values, answer.job);
    return 0;
  },
};

const waitCommand: CliCommand = {
  name: "wait",
  summary: "follow a job until it ends; -o FILE to download the result",
  help: `Usage: pcapfleet jobs wait ID [-o FILE]

Follows the job (progress on stderr), prints it when it ends, and exits 1 if it failed or was
cancelled (0 for partial, with a warning naming the sensors that failed).

Options:
  -o, --output FILE  then download the result to FILE and check its SHA-256
${globalHelp}`,
  options: { ...globalOptions, output: { type: "string", short: "o" } },
  positionals: true,
  async run(values, positionals, io) {
    const jobId = jobIdArgument(positionals, "pcapfleet jobs wait ID [-o FILE]");
    const output = stringFlag(values, "output");
    if (output === "") throw invalid("-o needs a file name");
    return withSession(values, io, (s) => finish(s, jobId, output, values, io, "pcapfleet jobs wait"));
  },
};

const cancelCommand: CliCommand = {
  name: "cancel",
  summary: "cancel a job that has not finished (your own; admins any)",
  help: `Usage: pcapfleet jobs cancel ID\n\n${globalHelp}`,
  options: { ...globalOptions },
  positionals: true,
  async run(values, positionals, io) {
    const jobId = jobIdArgument(positionals, "pcapfleet jobs cancel ID");
    const answer = await withSession(values, io, (s) => s.authed((o) => s.jobs.cancelJob({ jobId }, o)));
    printJob(io, values, answer.job);
    return 0;
  },
};

const downloadCommand: CliCommand = {
  name: "download",
  summary: "download a finished job's merged PCAP and check its SHA-256",
  help: `Usage: pcapfleet jobs download ID -o FILE

Writes the merged result to FILE (through FILE.part, resuming if the stream breaks), then checks
its size and SHA-256 against the collector's.

Options:
  -o, --output FILE  where to write the capture
${globalHelp}`,
  options: { ...globalOptions, output: { type: "string", short: "o" } },
  positionals: true,
  async run(values, positionals, io) {
    const jobId = jobIdArgument(positionals, "pcapfleet jobs download ID -o FILE");
    const output = stringFlag(values, "output");
    if (output === undefined || output === "") throw invalid("-o FILE is required");
    const file = await withSession(values, io, (s) => downloadResult(s, jobId, output));
    print(
      io,
      values,
      file,
      () => `wrote ${file.path}: ${file.bytes} bytes, sha256 ${file.sha256} (verified)\n`,
    );
    return 0;
  },
};

/** `pcapfleet jobs ...`. */
export const jobsProgram: CliProgram = {
  name: "pcapfleet jobs",
  summary: "PCAP jobs on a collector: submit, wait, list, show, cancel, download",
  commands: [submitCommand, waitCommand, lsCommand, showCommand, cancelCommand, downloadCommand],
};
