/**
 * Words and rules the job pages share: short ids and hashes, status and coverage labels, who
 * may do what with a job. Pure functions, so the pages stay declarative.
 */
import type { SessionUser } from "./api-types.js";
import { formatDuration, formatTime } from "./format.js";
import type { Coverage, JobStatus, JobView } from "./job-types.js";

/** The first 8 hex digits of a job or task id, as the download names use. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A SHA-256 shortened for a table cell (the full value is in the title and the copy button). */
export function shortHash(sha256: string): string {
  return sha256.length > 12 ? `${sha256.slice(0, 12)}…` : sha256;
}

/** Whether a job can still move (and be cancelled). */
export function isActive(status: JobStatus): boolean {
  return status === "queued" || status === "running";
}

/** Whether a job's status is final and it has an analysis to show. */
export function hasResult(job: Pick<JobView, "status" | "result">): boolean {
  return job.result !== null && (job.status === "complete" || job.status === "partial");
}

/** Analysts and admins submit jobs, estimate and download; viewers only read. */
export function canSubmit(user: SessionUser | undefined): boolean {
  return user !== undefined && (user.role === "analyst" || user.role === "admin");
}

/** The `own-job` rule of `DELETE /jobs/{id}`: an admin, or an analyst who owns the job. */
export function canCancel(user: SessionUser | undefined, job: Pick<JobView, "owner" | "status">): boolean {
  if (user === undefined || !isActive(job.status)) return false;
  return user.role === "admin" || (user.role === "analyst" && user.username === job.owner);
}

/** Whether the merged result can be downloaded by `user`. */
export function canDownload(user: SessionUser | undefined, job: Pick<JobView, "result">): boolean {
  return canSubmit(user) && job.result !== null && job.result.expired_at === null;
}

/** The words of each coverage, as the estimate shows them. */
export const COVERAGE_LABELS: Readonly<Record<Coverage, string>> = {
  covered: "covered",
  partly_covered: "partly",
  aged_out: "aged out",
  no_data: "no data",
  unknown: "unknown",
};

/** The pill colour of a coverage (shared-styles' `data-status` values). */
export const COVERAGE_TONE: Readonly<Record<Coverage, string>> = {
  covered: "ok",
  partly_covered: "warn",
  aged_out: "error",
  no_data: "error",
  unknown: "warn",
};

/** A job's window as `from → to (duration)` in `timeZone`. */
export function formatWindow(job: Pick<JobView, "start_time" | "end_time">, timeZone: string): string {
  const seconds = (Date.parse(job.end_time) - Date.parse(job.start_time)) / 1000;
  const span = Number.isFinite(seconds) ? ` (${formatDuration(seconds)})` : "";
  return `${formatTime(job.start_time, timeZone)} → ${formatTime(job.end_time, timeZone)}${span}`;
}

/** `2 of 3 tasks done` from a job's task counts. */
export function tasksDone(counts: Readonly<Record<string, number>>): string {
  let total = 0;
  let open = 0;
  for (const [status, n] of Object.entries(counts)) {
    total += n;
    if (status === "pending" || status === "running") open += n;
  }
  return `${total - open} of ${total} task${total === 1 ? "" : "s"} done`;
}

/** The conversation fields of a job as `src 10.0.0.1:443 ↔ dst …, tcp`; empty when none. */
export function conversationOf(job: Pick<JobView, "spec">): string {
  const s = job.spec;
  const side = (ip: string | undefined, port: number | undefined): string =>
    `${ip ?? "any"}${port === undefined ? "" : `:${port}`}`;
  const parts: string[] = [];
  if (
    s.src_ip !== undefined ||
    s.src_port !== undefined ||
    s.dst_ip !== undefined ||
    s.dst_port !== undefined
  ) {
    parts.push(`${side(s.src_ip, s.src_port)} ↔ ${side(s.dst_ip, s.dst_port)}`);
  }
  if (s.protocol !== undefined) parts.push(s.protocol);
  return parts.join(", ");
}
