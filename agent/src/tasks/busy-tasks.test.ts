import { TaskKind } from "@pcapfleet/proto";
import { describe, expect, it } from "vitest";
import { createBusyTasks } from "./busy-tasks.js";

describe("busy tasks", () => {
  it("lists running tasks oldest first with their progress, and forgets ended ones", () => {
    let clock = 1_700_000_000_000;
    const tasks = createBusyTasks(() => new Date(clock++));
    const a = tasks.start({ taskId: "a", jobId: "job-1", kind: TaskKind.SLICE });
    const b = tasks.start({ taskId: "b", kind: TaskKind.INDEX });
    a.update({ progress: 0.25, bytesDone: 1000, packetsDone: 7 });
    b.update({ progress: 3, bytesDone: Number.NaN });
    const listed = tasks.list();
    expect(listed.map((t) => [t.taskId, t.jobId, t.kind])).toEqual([
      ["a", "job-1", TaskKind.SLICE],
      ["b", "", TaskKind.INDEX],
    ]);
    expect(listed[0]).toMatchObject({ progress: 0.25, bytesDone: 1000n, packetsDone: 7n });
    expect(listed[0]?.startedAt?.seconds).toBe(1_700_000_000n);
    // Out-of-range figures are clamped, not thrown at BigInt().
    expect(listed[1]).toMatchObject({ progress: 1, bytesDone: 0n });
    a.end();
    a.end();
    a.update({ progress: 0.5 });
    expect(tasks.list().map((t) => t.taskId)).toEqual(["b"]);
    b.end();
    expect(tasks.list()).toEqual([]);
  });

  it("keeps two tasks with one id apart", () => {
    const tasks = createBusyTasks();
    const first = tasks.start({ taskId: "same", kind: TaskKind.SLICE });
    tasks.start({ taskId: "same", kind: TaskKind.SLICE });
    first.end();
    expect(tasks.list()).toHaveLength(1);
  });
});
