// Checksums of classic pcap files for benchmark correctness checks: packet count and a SHA-256
// over every record's (timestamp in ns, caplen, origLen, packet bytes), in file order, optionally
// only the records with from <= ts < to. Timestamps are normalised to nanoseconds, so a
// microsecond file and a nanosecond file with the same packets digest alike. Read streaming
// (the files are up to a few GB); independent of the engine, so it checks it.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";

const CHUNK = 8 * 1024 * 1024;
const MAGIC = {
  2712847316: { le: true, nano: false },
  3569595041: { le: false, nano: false },
  2712812621: { le: true, nano: true },
  1295823521: { le: false, nano: true },
};

/**
 * Digest of the classic pcap at `path`: `{ packets, sha256, bytes }` where `bytes` is the size
 * of the records counted (headers included). `window` is `{ from, to }` as `[sec, nsec]` pairs
 * (either may be null).
 */
export function digestPcap(path, window = {}) {
  const from = window.from ?? null;
  const to = window.to ?? null;
  const fd = openSync(path, "r");
  const hash = createHash("sha256");
  const meta = Buffer.alloc(24);
  let buf = Buffer.allocUnsafe(CHUNK);
  let start = 0;
  let end = 0;
  let filePos = 0;
  const fill = () => {
    if (start > 0) {
      buf.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    const n = readSync(fd, buf, end, buf.length - end, filePos);
    filePos += n;
    end += n;
    return n;
  };
  try {
    fill();
    if (end < 24) throw new Error(`${path}: not a pcap file (too short)`);
    const format = MAGIC[buf.readUInt32LE(0)];
    if (format === undefined) throw new Error(`${path}: not a classic pcap file`);
    const u32 = format.le ? (at) => buf.readUInt32LE(at) : (at) => buf.readUInt32BE(at);
    start = 24;
    let packets = 0;
    let bytes = 0;
    for (;;) {
      if (end - start < 16 && fill() === 0 && end - start < 16) break;
      const caplen = u32(start + 8);
      if (end - start < 16 + caplen) {
        if (16 + caplen > buf.length) {
          const bigger = Buffer.allocUnsafe(16 + caplen);
          buf.copy(bigger, 0, start, end);
          end -= start;
          start = 0;
          buf = bigger;
        }
        if (fill() === 0 && end - start < 16 + caplen) throw new Error(`${path}: truncated record`);
        continue;
      }
      const sec = u32(start);
      const nsec = format.nano ? u32(start + 4) : u32(start + 4) * 1000;
      const inside =
        (from === null || sec > from[0] || (sec === from[0] && nsec >= from[1])) &&
        (to === null || sec < to[0] || (sec === to[0] && nsec < to[1]));
      if (inside) {
        meta.writeDoubleLE(sec, 0);
        meta.writeUInt32LE(nsec, 8);
        meta.writeUInt32LE(caplen, 12);
        meta.writeUInt32LE(u32(start + 12), 16);
        hash.update(meta.subarray(0, 20));
        hash.update(buf.subarray(start + 16, start + 16 + caplen));
        packets += 1;
        bytes += 16 + caplen;
      }
      start += 16 + caplen;
    }
    return { packets, bytes, sha256: hash.digest("hex") };
  } finally {
    closeSync(fd);
  }
}
