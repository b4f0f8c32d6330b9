import { createHash } from "node:crypto";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { ErrorCode } from "@pcapfleet/core";
import { afterEach, describe, expect, it } from "vitest";
import { CONTROL_CANCEL, CONTROL_SLOTS, type FromWorker } from "./slice-protocol.js";
import { TransferSink } from "./transfer-sink.js";

const ports: MessagePort[] = [];
afterEach(() => {
  for (const port of ports.splice(0)) port.close();
});

/** A sink posting through a real MessageChannel; `received` collects what arrives on the other side. */
function sinkWith(credits: number): { sink: TransferSink; control: Int32Array; received: Buffer[] } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  const received: Buffer[] = [];
  port2.on("message", (message: FromWorker) => {
    if (message.type === "data") received.push(Buffer.from(message.buffer, message.offset, message.length));
  });
  return { sink: new TransferSink(port1, control, credits), control, received };
}

const arrived = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe("TransferSink", () => {
  it("moves an engine-sized buffer without a copy, copies a pooled one, and hashes everything", async () => {
    const { sink, received } = sinkWith(4);
    const big = Buffer.allocUnsafe(1024 * 1024).fill(7);
    const small = Buffer.from("a small write from Node's shared pool");
    const bigCopy = Buffer.from(big);
    sink.write(big.subarray(0, 1000 * 1000));
    sink.write(small);
    // Transferred: the worker's view is detached. Copied: the pooled buffer is untouched.
    expect(big.buffer.byteLength).toBe(0);
    expect(small.toString()).toBe("a small write from Node's shared pool");
    await arrived();
    expect(received.map((b) => b.length)).toEqual([1000 * 1000, small.length]);
    expect(received[0]?.equals(bigCopy.subarray(0, 1000 * 1000))).toBe(true);
    expect(received[1]?.toString()).toBe(small.toString());
    expect(sink.total).toBe(1000 * 1000 + small.length);
    const hash = createHash("sha256")
      .update(bigCopy.subarray(0, 1000 * 1000))
      .update(small);
    expect(sink.digest()).toBe(hash.digest("hex"));
  });

  it("is full once its credits are spent, and drains when a credit comes back", async () => {
    const { sink } = sinkWith(1);
    expect(sink.full).toBe(false);
    sink.write(Buffer.alloc(10));
    expect(sink.full).toBe(true);
    let drained = false;
    const draining = sink.drain().then(() => {
      drained = true;
    });
    await arrived();
    expect(drained).toBe(false);
    sink.credit(1);
    await draining;
    expect(sink.full).toBe(false);
  });

  it("stops on the shared cancel flag: full, and a waiting drain rejects with cancelled", async () => {
    const { sink, control } = sinkWith(0);
    const draining = sink.drain();
    Atomics.store(control, CONTROL_CANCEL, 1);
    expect(sink.full).toBe(true);
    // The flag is seen when the sink is next woken (a credit or cancel message) or asked.
    sink.credit(1);
    await expect(draining).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    await expect(sink.drain()).rejects.toMatchObject({ code: ErrorCode.Cancelled });
  });
});
