/**
 * `POST /jobs/estimate`: before a job runs, what each target sensor holds of the window and how
 * much it would return. Coverage comes from the sensor's last heartbeat (oldest and newest
 * retained packet) so an offline sensor still gets an answer; packets and bytes come from the
 * agent's `Estimate`, answered from its indexes without reading packets, asked of every
 * reachable sensor at once with a short deadline.
 */
import { Coverage } from "@pcapfleet/proto";
import type { Queryable } from "../db/index.js";
import type { AgentClients } from "./agent-clients.js";
import type { Target } from "./routing.js";
import { windowNs } from "./task-runner.js";

/** Coverage words of the API. */
export type CoverageWord = "covered" | "partly_covered" | "aged_out" | "no_data" | "unknown";

/** One sensor's answer. */
export interface SensorEstimate {
  readonly sensor: string;
  readonly routed_by: string;
  readonly status: string;
  readonly coverage: CoverageWord;
  /** Oldest and newest retained packet as of the last heartbeat. */
  readonly oldest_packet_at: string | null;
  readonly newest_packet_at: string | null;
  /** From the agent's indexes; null when the agent could not be asked. */
  readonly packets: number | null;
  readonly bytes: number | null;
  /** True when the counts are exact (no filter, or one the index can apply). */
  readonly exact: boolean;
  /** Why the agent was not asked, or what it answered instead of counts. */
  readonly note: string | null;
}

/** Answer of the estimate route. */
export interface JobEstimate {
  readonly effective_filter: string;
  readonly sensors: SensorEstimate[];
  readonly total_packets: number;
  readonly total_bytes: number;
}

const coverageWords: Readonly<Record<number, CoverageWord>> = {
  [Coverage.COVERED]: "covered",
  [Coverage.PARTLY_COVERED]: "partly_covered",
  [Coverage.AGED_OUT]: "aged_out",
  [Coverage.NO_DATA]: "no_data",
};

/** Coverage of [start, end) by a ring holding [oldest, newest]. */
export function coverageOf(start: Date, end: Date, oldest: Date | null, newest: Date | null): CoverageWord {
  if (oldest === null || newest === null) return "no_data";
  if (end.getTime() <= oldest.getTime()) return "aged_out";
  if (start.getTime() > newest.getTime()) return "no_data";
  if (start.getTime() >= oldest.getTime() && end.getTime() <= newest.getTime() + 1000) return "covered";
  return "partly_covered";
}

/** Estimates `targets` for the window and filter; never rejects for one sensor's failure. */
export async function estimateJob(
  db: Queryable,
  clients: AgentClients,
  spec: { start_time: string; end_time: string },
  filter: string,
  targets: readonly Target[],
  deadlineMs = 3_000,
): Promise<JobEstimate> {
  const { rows } = await db.query<{
    name: string;
    status: string;
    agent_address: string;
    pcap_oldest_at: Date | null;
    pcap_newest_at: Date | null;
  }>(
    `SELECT name, status, agent_address, pcap_oldest_at, pcap_newest_at FROM sensors WHERE name = ANY($1::text[])`,
    [targets.map((t) => t.sensor)],
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  const start = new Date(spec.start_time);
  const end = new Date(spec.end_time);
  const window = windowNs(spec);
  const sensors = await Promise.all(
    targets.map(async (target): Promise<SensorEstimate> => {
      const row = byName.get(target.sensor);
      const base = {
        sensor: target.sensor,
        routed_by: target.routedBy,
        status: row?.status ?? "unknown",
        coverage:
          row === undefined ? "unknown" : coverageOf(start, end, row.pcap_oldest_at, row.pcap_newest_at),
        oldest_packet_at: row?.pcap_oldest_at?.toISOString() ?? null,
        newest_packet_at: row?.pcap_newest_at?.toISOString() ?? null,
        packets: null,
        bytes: null,
        exact: false,
      } as const;
      if (row === undefined || row.status === "offline" || row.agent_address === "") {
        const note =
          row === undefined
            ? "unknown sensor"
            : row.status === "offline"
              ? "sensor offline: coverage from its last heartbeat"
              : "sensor has not advertised a capture address";
        return { ...base, note };
      }
      try {
        const answer = await clients
          .get(row.agent_address)
          .estimate({ window, filter }, { deadline: Date.now() + deadlineMs });
        return {
          ...base,
          coverage: coverageWords[answer.coverage] ?? base.coverage,
          packets: Number(answer.packets),
          bytes: Number(answer.bytes),
          exact: answer.exact,
          note: null,
        };
      } catch (error) {
        const details = (error as { details?: string }).details ?? (error as Error).message;
        return { ...base, note: `sensor did not answer the estimate: ${details}` };
      }
    }),
  );
  return {
    effective_filter: filter,
    sensors,
    total_packets: sensors.reduce((sum, s) => sum + (s.packets ?? 0), 0),
    total_bytes: sensors.reduce((sum, s) => sum + (s.bytes ?? 0), 0),
  };
}
