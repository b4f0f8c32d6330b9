/** Writes test packets to a classic pcap file with the engine's own writer. */
import { createPcapWriter } from "@pcapfleet/pcap";

/** A packet to write: bytes as captured, the original length and a timestamp. */
export interface CapturePacket {
  tsSec: number;
  tsNsec: number;
  data: Uint8Array;
  origLen: number;
}

/** Writes `packets` in order to `file` (nanosecond timestamps, so no time is rounded). */
export async function writeCapture(
  file: string,
  linkType: number,
  packets: ReadonlyArray<CapturePacket>,
): Promise<void> {
  const writer = await createPcapWriter(file, { linkType, nanosecond: true });
  for (const p of packets) {
    const data = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.length);
    if (!writer.writePacket(data, 0, data.length, p.origLen, p.tsSec, p.tsNsec)) await writer.drain();
  }
  await writer.close();
}
