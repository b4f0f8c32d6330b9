/**
 * Where the result store keeps a job's files: `<dataDir>/jobs/<job id>/`, one `<task id>.pcap`
 * per sensor as it streamed in, and `result.pcap` (or `.pcapng`), the merge. Ids are UUIDs
 * checked before they reach here, so paths cannot escape the folder.
 */
import { join } from "node:path";

/** The folder of one job's files. */
export function jobDir(dataDir: string, jobId: string): string {
  return join(dataDir, "jobs", jobId);
}

/** One task's slice as received from its sensor. */
export function taskFile(dataDir: string, jobId: string, taskId: string): string {
  return join(jobDir(dataDir, jobId), `${taskId}.pcap`);
}

/** The merged result of a job. */
export function resultFile(dataDir: string, jobId: string, format: "pcap" | "pcapng"): string {
  return join(jobDir(dataDir, jobId), `result.${format}`);
}
