/**
 * pcapng files: sections in either byte order, each with its own interfaces; Enhanced, Simple and
 * obsolete Packet Blocks become records, every other block is validated by its framing and skipped.
 */
import { MAX_CAPLEN, PcapFormatError } from "../types.js";
import { CaptureReader, Parse } from "./capture-reader.js";
import type { ChunkBuffer } from "./chunk-buffer.js";
import {
  BlockType,
  MAX_BLOCK_LENGTH,
  MIN_BLOCK_LENGTH,
  type PcapngInterface,
  type PcapngSection,
  parseInterface,
  parseSectionHeader,
  sectionByteOrder,
  u16,
  u32,
} from "./pcapng-blocks.js";

/**
 * Reader of pcapng files; build it with `openCapture`.
 *
 * Simple Packet Blocks carry no timestamp: they get the timestamp of the packet read just before
 * them (0 at the start), so time-ordered processing keeps them in place instead of moving them to
 * 1970 (libpcap reports 0). Their caplen is min(block space, original length, snaplen).
 */
export class PcapngReader extends CaptureReader {
  /** Always "pcapng". */
  readonly format = "pcapng";
  /** Sections seen so far, in file order. */
  readonly sections: PcapngSection[] = [];
  private section: PcapngSection | undefined;
  private le = true;
  private interfaces: PcapngInterface[] = [];
  /**
   * Every block before this offset has been parsed once; blocks found again after a backward seek
   * must not redefine their section or interfaces.
   */
  private scannedTo = 0;

  /** Prefer `openCapture`; {@link PcapngReader.readHeader} must run before reading. */
  constructor(chunk: ChunkBuffer, name: string) {
    super(chunk, name);
  }

  /** Interfaces of the section being read. */
  get currentInterfaces(): readonly PcapngInterface[] {
    return this.interfaces;
  }

  /**
   * Reads the first Section Header Block and the Interface Description Blocks after it, so link
   * types and precision are known before the first packet. Called once by `openCapture`.
   */
  async readHeader(): Promise<void> {
    const chunk = this.chunk;
    for (;;) {
      if (chunk.end - chunk.pos >= MIN_BLOCK_LENGTH && this.section !== undefined) {
        const type = u32(chunk.buf, chunk.pos, this.le);
        if (type !== BlockType.InterfaceDescription) break;
      }
      const status = this.parseOne();
      if (status === Parse.NeedMore && !(await this.more())) {
        if (this.section === undefined) throw new PcapFormatError(this.name, 0, "truncated section header");
        break;
      }
    }
    this.truncatedTail = null;
    const first = this.sections[0];
    const iface = first?.interfaces[0];
    this.littleEndian = first?.le ?? true;
    this.snaplen = iface?.snaplen ?? 0;
    this.dataOffset = 0;
  }

  /**
   * Continues at a block offset. Offsets already read reuse the section state recorded for them;
   * an offset further on is reached by parsing the blocks in between (a pcapng interface table can
   * only be known that way), which costs one sequential read of that stretch.
   */
  override async seek(offset: number): Promise<void> {
    await super.seek(offset);
    if (offset <= this.scannedTo) {
      let found: PcapngSection | undefined;
      for (const s of this.sections) if (s.offset <= offset) found = s;
      if (found !== undefined) this.enter(found);
      return;
    }
    const last = this.sections[this.sections.length - 1];
    if (last !== undefined) this.enter(last);
    this.chunk.moveTo(this.scannedTo);
    while (this.chunk.offset < offset) {
      if (this.parseOne() === Parse.NeedMore && !(await this.more())) {
        throw new PcapFormatError(this.name, offset, "seek offset beyond the end of the capture");
      }
    }
    if (this.chunk.offset !== offset) {
      throw new PcapFormatError(this.name, offset, "seek offset is not a block boundary");
    }
  }

  /** One block: a packet into the record, or a state/unknown block consumed. */
  protected parseOne(): number {
    const chunk = this.chunk;
    const buf = chunk.buf;
    const pos = chunk.pos;
    const avail = chunk.end - pos;
    if (avail < MIN_BLOCK_LENGTH) {
      this.need = MIN_BLOCK_LENGTH;
      return Parse.NeedMore;
    }
    const at = chunk.base + pos;
    // The SHB type is a palindrome, so it is recognised before the byte order is known.
    const isSection = buf.readUInt32LE(pos) === BlockType.SectionHeader;
    const le = isSection ? sectionByteOrder(buf, pos, this.name, at) : this.le;
    const type = u32(buf, pos, le);
    const length = u32(buf, pos + 4, le);
    if (length < MIN_BLOCK_LENGTH || length % 4 !== 0 || length > MAX_BLOCK_LENGTH) {
      throw this.corrupt(pos, `invalid block length ${length}`);
    }
    if (avail < length) {
      this.need = length;
      return Parse.NeedMore;
    }
    if (u32(buf, pos + length - 4, le) !== length) throw this.corrupt(pos, "block trailing length mismatch");
    let status: number = Parse.Skipped;
    if (type === BlockType.EnhancedPacket) {
      this.packet(buf, pos, length, u32(buf, pos + 8, le), 28);
      status = Parse.Packet;
    } else if (type === BlockType.SimplePacket) {
      this.simplePacket(buf, pos, length);
      status = Parse.Packet;
    } else if (type === BlockType.Packet) {
      this.packet(buf, pos, length, u16(buf, pos + 8, le), 28);
      status = Parse.Packet;
    } else if (isSection) {
      this.sectionHeader(buf, pos, length, le, at);
    } else if (type === BlockType.InterfaceDescription && at >= this.scannedTo) {
      this.addInterface(parseInterface(buf, pos, length, le, this.name, at));
    }
    if (at === this.scannedTo) this.scannedTo = at + length;
    chunk.pos = pos + length;
    return status;
  }

  /** Enhanced and obsolete Packet Blocks share their layout after the interface id. */
  private packet(buf: Buffer, pos: number, length: number, interfaceId: number, dataStart: number): void {
    if (length < 32) throw this.corrupt(pos, `packet block too short (${length})`);
    const iface = this.interfaces[interfaceId];
    if (iface === undefined)
      throw this.corrupt(pos, `packet block references undefined interface ${interfaceId}`);
    const le = this.le;
    const caplen = u32(buf, pos + 20, le);
    if (caplen > MAX_CAPLEN) throw this.corrupt(pos, `caplen ${caplen} exceeds the maximum of ${MAX_CAPLEN}`);
    if (dataStart + caplen + 4 > length) throw this.corrupt(pos, `caplen ${caplen} exceeds its block`);
    const clock = iface.clock;
    clock.convert(u32(buf, pos + 12, le), u32(buf, pos + 16, le));
    const rec = this.rec;
    rec.buf = buf;
    rec.dataOffset = pos + dataStart;
    rec.caplen = caplen;
    rec.origLen = u32(buf, pos + 24, le);
    rec.tsSec = clock.sec + iface.tsoffset;
    rec.tsNsec = clock.nsec;
    rec.linkType = iface.linkType;
    rec.interfaceId = interfaceId;
    rec.fileOffset = this.chunk.base + pos;
    rec.recordLength = length;
  }

  private simplePacket(buf: Buffer, pos: number, length: number): void {
    if (length < 16) throw this.corrupt(pos, `simple packet block too short (${length})`);
    const iface = this.interfaces[0];
    if (iface === undefined) throw this.corrupt(pos, "simple packet block without interface 0");
    const origLen = u32(buf, pos + 8, this.le);
    let caplen = Math.min(length - 16, origLen);
    if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
    if (caplen > MAX_CAPLEN) throw this.corrupt(pos, `caplen ${caplen} exceeds the maximum of ${MAX_CAPLEN}`);
    const rec = this.rec;
    rec.buf = buf;
    rec.dataOffset = pos + 12;
    rec.caplen = caplen;
    rec.origLen = origLen;
    // tsSec/tsNsec stay those of the previous packet: see the class comment.
    rec.linkType = iface.linkType;
    rec.interfaceId = 0;
    rec.fileOffset = this.chunk.base + pos;
    rec.recordLength = length;
  }

  private sectionHeader(buf: Buffer, pos: number, length: number, le: boolean, at: number): void {
    const known = at < this.scannedTo ? this.sections.find((s) => s.offset === at) : undefined;
    if (known !== undefined) {
      this.enter(known);
      return;
    }
    const section = parseSectionHeader(buf, pos, length, le, this.name, at);
    this.sections.push(section);
    this.enter(section);
  }

  private addInterface(iface: PcapngInterface): void {
    this.interfaces.push(iface);
    if (!this.linkTypes.includes(iface.linkType)) this.linkTypes.push(iface.linkType);
    if (iface.clock.nanosecond) this.nanosecond = true;
  }

  private enter(section: PcapngSection): void {
    this.section = section;
    this.le = section.le;
    this.interfaces = section.interfaces;
  }
}
