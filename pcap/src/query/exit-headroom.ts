/**
 * Works around a Node.js deadlock at process exit (nodejs/node#54918, still in Node 20.20) that
 * hung `pcapfleet-agent slice` and the slice benchmark's runner now and then, for good, with the
 * output complete and every descriptor closed. Caught with gdb on a hung process:
 *
 *   main thread:  uv_cond_wait ← NodePlatform::DrainTasks ← SpinEventLoopInternal
 *   V8 worker:    CollectionBarrier::AwaitCollectionBackground ← LocalHeap::PerformCollectionAndAllocateAgain
 *                 ← FactoryBase<LocalFactory>::NewHeapNumber ← Object::WrapForRead
 *                 ← GetOwnFastDataPropertyFromHeap ← ... ← OptimizingCompileDispatcher::CompileTask
 *
 * When the event loop runs dry Node waits, in DrainTasks, for every V8 background task. A
 * TurboFan job still compiling then (folding a constant double field) allocates a HeapNumber;
 * when the old generation is at its allocation limit, that allocation asks the main thread for a
 * GC and waits for it, and the main thread, waiting for the job, never does one. The limit is
 * reached through our Buffers: V8 counts external memory allocated since the last mark-compact
 * against the old generation's limit, which a short CLI process sets only ~8 MB above its small
 * heap, and a slice allocates 8-15 MB of read and write buffers without any mark-compact.
 * (Measured with `--concurrent-recompilation-delay=100`, which keeps a compile job running at
 * exit: 25% of whole-ring CLI slices hung; none with `--initial-old-space-size=64`, which gives
 * the limit room; none with this module.)
 *
 * {@link restoreHeapHeadroom} runs a full GC once the slice has released its buffers: it resets
 * the external-memory count and recomputes the limit from the live heap, so a compile job's
 * small allocations after it succeed without a GC. For synchronous-read slices only (CLIs and
 * batch work, whose process ends soon after); a server keeps running JS, which serves such GC
 * requests. Remove once Node's DrainTasks no longer blocks on background tasks.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let fullGc: (() => void) | null | undefined;

/** V8's `gc()`, obtained without starting the process with `--expose-gc`; null when unavailable. */
function gcFunction(): (() => void) | null {
  if (fullGc !== undefined) return fullGc;
  const existing: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === "function") {
    fullGc = existing as () => void;
    return fullGc;
  }
  try {
    // The flag only decides whether a new context gets `gc`; it is turned off again at once.
    setFlagsFromString("--expose-gc");
    const found: unknown = runInNewContext("gc");
    setFlagsFromString("--no-expose-gc");
    fullGc = typeof found === "function" ? (found as () => void) : null;
  } catch {
    fullGc = null;
  }
  return fullGc;
}

/**
 * Runs a full (mark-compact) GC so that V8 background compile jobs still running when the
 * process ends find room to allocate without asking the main thread; see the module comment.
 * A few milliseconds on a CLI's heap. Does nothing when V8's `gc` cannot be obtained.
 */
export function restoreHeapHeadroom(): void {
  gcFunction()?.();
}
