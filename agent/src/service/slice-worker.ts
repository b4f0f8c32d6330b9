/**
 * Entry of a slice worker thread (see slice-workers.ts): runs the slices the main thread sends,
 * one at a time, with `sliceStore` writing into a {@link TransferSink}, so the reads, the filter,
 * the output framing and the SHA-256 all stay off the daemon's event loop. Messages: see
 * slice-protocol.ts.
 *
 * Reads are synchronous here: the event loop they block is this thread's, which has nothing
 * else to do, and an indexed selective slice's many small reads are several times cheaper
 * without a round trip through the libuv thread pool per read (pcap/src/query/read-source.ts).
 * While it reads, the thread does not look at its messages, so a cancellation also arrives as
 * the shared flag, checked at every progress report (at most 100 ms apart, after a read) and
 * at every output write.
 */
import { parentPort } from "node:worker_threads";
import { sliceStore } from "@pcapfleet/pcap/query";
import { type SliceJob, type ToWorker, toWire } from "./slice-protocol.js";
import { cancelled, TransferSink } from "./transfer-sink.js";

/** The slice running now, for the messages that steer it. */
interface Running {
  readonly sink: TransferSink;
  readonly controller: AbortController;
}

const port = parentPort;
if (port === null) throw new Error("slice-worker runs as a worker thread (slice-workers.ts starts it)");
let running: Running | null = null;

port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "start":
      void run(message.job, new Int32Array(message.control));
      break;
    case "return":
      running?.sink.returned(message.id, message.buffer);
      break;
    case "cancel":
      running?.controller.abort();
      running?.sink.fail(cancelled());
      break;
  }
});

async function run(job: SliceJob, control: Int32Array): Promise<void> {
  const out = port as NonNullable<typeof port>;
  const sink = new TransferSink(out, control);
  const controller = new AbortController();
  running = { sink, controller };
  try {
    const result = await sliceStore({
      files: job.files,
      from: job.from,
      to: job.to,
      filter: job.filter,
      stateDir: job.stateDir,
      output: sink,
      ...(job.maxBytes > 0 ? { maxBytes: job.maxBytes } : {}),
      ...(job.maxPackets > 0 ? { maxPackets: job.maxPackets } : {}),
      signal: controller.signal,
      onProgress: (progress) => {
        // The merge checks the signal after each read: this is how the shared flag reaches it.
        if (sink.cancelled) controller.abort();
        out.postMessage({ type: "progress", progress });
      },
      syncReads: true,
    });
    const { packets, bytes, truncated, skipped } = result;
    out.postMessage({ type: "done", result: { packets, bytes, truncated, skipped }, sha256: sink.digest() });
  } catch (error) {
    out.postMessage({ type: "failed", error: toWire(sink.cancelled ? cancelled() : error) });
  } finally {
    running = null;
  }
}
