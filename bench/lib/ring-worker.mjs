// Worker of bench/lib/ring.mjs: writes one block of consecutive ring files from one traffic
// generator, rotating like `tcpdump -C`: before each packet, a file already larger than the
// size limit is closed and the next one opened. Posts one metadata object per file.
import { parentPort, workerData } from "node:worker_threads";
import { createPcapWriter } from "../../pcap/dist/format/index.js";
import { TrafficGenerator } from "../../pcap/dist/synth/index.js";

const { paths, fileBytes, traffic, linkType } = workerData;
// The class, not the generateTraffic() iterator: no generator frame per packet.
const gen = new TrafficGenerator(traffic);
let p = gen.next();
for (const path of paths) {
  if (p === undefined) break;
  const writer = await createPcapWriter(path, { linkType, chunkSize: 4 * 1024 * 1024 });
  const first = [p.tsSec, p.tsNsec];
  let last = first;
  let packets = 0;
  while (p !== undefined && writer.bytesWritten <= fileBytes) {
    if (!writer.writePacket(p.data, 0, p.data.length, p.origLen, p.tsSec, p.tsNsec)) await writer.drain();
    last = [p.tsSec, p.tsNsec];
    packets += 1;
    p = gen.next();
  }
  await writer.close();
  parentPort.postMessage({ path, bytes: writer.bytesWritten, packets, first, last });
}
