/**
 * The registry of work running on the agent (slices, estimates, index runs), so heartbeats and
 * GetStatus can say why a sensor is busy and how far each task got. A task is registered when
 * it starts and removed when it ends, whatever way it ends: the caller holds a handle and calls
 * `end()` in a `finally`.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type BusyTask, BusyTaskSchema, type TaskKind } from "@pcapfleet/proto";

/** What a task is, given when it starts. */
export interface BusyTaskStart {
  /** The collector's task id (or an agent-chosen id for agent-initiated work). */
  readonly taskId: string;
  /** The job the task belongs to; empty for agent-initiated work. */
  readonly jobId?: string;
  /** What kind of work it is. */
  readonly kind: TaskKind;
}

/** How far a task got; every field optional, so a caller updates what it knows. */
export interface BusyTaskProgress {
  /** Fraction done, clamped to 0..1. */
  readonly progress?: number;
  readonly bytesDone?: number;
  readonly packetsDone?: number;
}

/** The handle of one running task. */
export interface BusyTaskHandle {
  /** Records progress; ignored after {@link BusyTaskHandle.end}. */
  update(progress: BusyTaskProgress): void;
  /** Removes the task from the registry; calling it again does nothing. */
  end(): void;
}

/** The registry; see the module comment. */
export interface BusyTasks {
  /** Registers a running task. Two tasks may share an id (a retried call): each has its own entry. */
  start(task: BusyTaskStart): BusyTaskHandle;
  /** The running tasks, oldest first, as the heartbeat and GetStatus carry them. */
  list(): BusyTask[];
}

interface Entry {
  readonly start: BusyTaskStart;
  readonly startedAt: Date;
  progress: number;
  bytesDone: number;
  packetsDone: number;
}

/** Creates an empty registry. */
export function createBusyTasks(now: () => Date = () => new Date()): BusyTasks {
  // Insertion order is start order, which is what list() promises.
  const running = new Set<Entry>();
  return {
    start(start) {
      const entry: Entry = { start, startedAt: now(), progress: 0, bytesDone: 0, packetsDone: 0 };
      running.add(entry);
      return {
        update(progress) {
          if (!running.has(entry)) return;
          if (progress.progress !== undefined) entry.progress = clamp(progress.progress);
          if (progress.bytesDone !== undefined) entry.bytesDone = count(progress.bytesDone);
          if (progress.packetsDone !== undefined) entry.packetsDone = count(progress.packetsDone);
        },
        end() {
          running.delete(entry);
        },
      };
    },
    list() {
      return [...running].map((entry) =>
        create(BusyTaskSchema, {
          taskId: entry.start.taskId,
          jobId: entry.start.jobId ?? "",
          kind: entry.start.kind,
          startedAt: timestampFromDate(entry.startedAt),
          progress: entry.progress,
          bytesDone: BigInt(entry.bytesDone),
          packetsDone: BigInt(entry.packetsDone),
        }),
      );
    },
  };
}

function clamp(fraction: number): number {
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}

/** A count as a non-negative integer (BigInt() throws on fractions and NaN). */
function count(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
