/**
 * Public API of the capture read/write layer: streaming readers for classic pcap and pcapng,
 * writers for both over one chunked output core with backpressure, and the fixture builders
 * tests and benchmarks share.
 */

export {
  type CaptureFormat,
  CaptureReader,
  type RecordVisitor,
  type TruncatedTail,
} from "./capture-reader.js";
export { bufferSource, fileSource, type ReadSource } from "./chunk-buffer.js";
export {
  BufferedWriter,
  ChunkedOutput,
  type ChunkedOutputOptions,
  DEFAULT_WRITE_CHUNK,
} from "./chunked-output.js";
export { ClassicMagic, ClassicReader } from "./classic-reader.js";
export type { FixtureInterface, FixtureNgPacket, FixtureSection } from "./fixtures.js";
export {
  ByteBuilder,
  type ClassicFixtureOptions,
  type ClassicVariant,
  classicFixture,
  type FixturePacket,
  pcapngFixture,
  pcapngTime,
  pcapngUnits,
  type SampleOptions,
  samplePackets,
  simpleCaplen,
  unitsPerSecond,
} from "./fixtures.js";
export { DEFAULT_CHUNK_SIZE, type OpenOptions, openCapture, openCaptureBuffer, openSource } from "./open.js";
export {
  CLASSIC_MAX_SEC,
  CLASSIC_RECORD_HEADER,
  createPcapWriter,
  PcapWriter,
  type PcapWriterOptions,
} from "./pcap-writer.js";
export { BlockType, MAX_BLOCK_LENGTH, type PcapngInterface, type PcapngSection } from "./pcapng-blocks.js";
export { PcapngReader } from "./pcapng-reader.js";
export {
  createPcapngWriter,
  PCAPNG_MAX_SEC,
  PcapngWriter,
  type PcapngWriterInterface,
  type PcapngWriterOptions,
} from "./pcapng-writer.js";
export { type ByteSink, MemorySink, type WriteTarget } from "./sink.js";
export { nanosToHalves, TsConverter } from "./timestamp.js";
