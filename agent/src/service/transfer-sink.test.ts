import { createHash } from "node:crypto";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { ErrorCode } from "@pcapfleet/core";
import { afterEach, describe, expect, it } from "vitest";
import { CONTROL_CANCEL, CONTROL_SLOTS, type FromWorker } from "./slice-protocol.js";
import { cancelled, TransferSink } from "./transfer-sink.js";

const ports: MessagePort[] = [];
afterEach(() => {
  for (const port of ports.splice(0)) port.close();
});

type Data = Extract<FromWorker, { type: "data" }>;

/** A sink posting through a real MessageChannel; `received` collects what arrives on the other side. */
function sinkWith(): { sink: TransferSink; control: Int32Array; received: Data[] } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  const received: Data[] = [];
  port2.on("message", (message: FromWorker) => {
    if (message.type === "data") received.push(message);
  });
  return { sink: new TransferSink(port1, control), control, received };
}

const arrived = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe("TransferSink", () => {
  it("lends an engine-sized buffer without a copy and resolves with the memory given back", async () => {
    const { sink, received } = sinkWith();
    const big = Buffer.allocUnsafe(1024 * 1024).fill(7);
    const bigCopy = Buffer.from(big);
    let back: Buffer | undefined;
    const loan = sink.lend(big, 1000 * 1000).then((buffer) => {
      back = buffer;
    });
    // Transferred: the worker's view is detached until the memory comes back.
    expect(big.buffer.byteLength).toBe(0);
    expect(sink.lent).toBe(1);
    await arrived();
    const [data] = received;
    expect(data?.id).toBeGreaterThanOrEqual(0);
    expect(data?.length).toBe(1000 * 1000);
    expect(
      Buffer.from(data?.buffer ?? new ArrayBuffer(0), 0, data?.length).equals(bigCopy.subarray(0, 1e6)),
    ).toBe(true);
    expect(back).toBeUndefined();
    // The main thread's `return` (the worker's message handler calls this).
    sink.returned(data?.id ?? -1, data?.buffer ?? new ArrayBuffer(0));
    await loan;
    expect(back?.length).toBe(1024 * 1024);
    expect(back?.buffer).toBe(data?.buffer);
    expect(sink.lent).toBe(0);
    expect(sink.total).toBe(1000 * 1000);
    expect(sink.digest()).toBe(createHash("sha256").update(bigCopy.subarray(0, 1e6)).digest("hex"));
  });

  it("copies what cannot move (Node's shared pool), for the main thread to keep", async () => {
    const { sink, received } = sinkWith();
    const small = Buffer.from("a small write from Node's shared pool");
    await expect(sink.lend(small, small.length)).resolves.toBeUndefined();
    sink.write(small);
    expect(small.toString()).toBe("a small write from Node's shared pool");
    await arrived();
    expect(received.map((d) => d.id)).toEqual([-1, -1]);
    expect(received.map((d) => Buffer.from(d.buffer, 0, d.length).toString())).toEqual([
      small.toString(),
      small.toString(),
    ]);
    expect(sink.lent).toBe(0);
  });

  it("ignores a buffer given back for a loan it does not hold (an ended slice's)", () => {
    const { sink } = sinkWith();
    expect(() => sink.returned(123_456, new ArrayBuffer(8))).not.toThrow();
    expect(sink.lent).toBe(0);
  });

  it("rejects the loans still out, drain and new loans once the call is cancelled", async () => {
    const { sink } = sinkWith();
    const loan = sink.lend(Buffer.allocUnsafe(1024 * 1024), 10);
    expect(sink.full).toBe(false);
    sink.fail(cancelled());
    expect(sink.full).toBe(true);
    await expect(loan).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    await expect(sink.drain()).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    await expect(sink.lend(Buffer.allocUnsafe(1024 * 1024), 10)).rejects.toMatchObject({
      code: ErrorCode.Cancelled,
    });
    expect(sink.lent).toBe(0);
  });

  it("stops on the shared cancel flag: full, drain and a new loan reject with cancelled", async () => {
    const { sink, control } = sinkWith();
    expect(sink.full).toBe(false);
    await expect(sink.drain()).resolves.toBeUndefined();
    Atomics.store(control, CONTROL_CANCEL, 1);
    expect(sink.full).toBe(true);
    await expect(sink.drain()).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    await expect(sink.lend(buffer, 10)).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    // Nothing was sent: the buffer is still the worker's.
    expect(buffer.length).toBe(1024 * 1024);
  });
});
