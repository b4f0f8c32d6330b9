/**
 * The IP part of the packet loop: talkers, conversations and service ports of one decoded
 * IPv4 or IPv6 packet. One hash lookup finds the conversation; its row remembers the slots of
 * its two talkers and its port (see `ConvCol`), so a packet of a known conversation reaches
 * all four tables with that single lookup while no table evicted in between.
 */
import type { DecodedPacket } from "@pcapfleet/pcap";
import { type AnalysisTables, ConvCol, PortCol, TalkerCol } from "./tables.js";
import type { WordTable } from "./word-table.js";

/** Big-endian uint32 at `at` (IPv6 address words). */
function word(buf: Buffer, at: number): number {
  return (
    (((buf[at] as number) << 24) |
      ((buf[at + 1] as number) << 16) |
      ((buf[at + 2] as number) << 8) |
      (buf[at + 3] as number)) >>>
    0
  );
}

/** Counts IP packets into the talker, conversation and port tables. */
export class IpCounter {
  private readonly talkers: WordTable;
  private readonly conversations: WordTable;
  private readonly ports: WordTable;
  /** Source and destination address words of the packet (IPv4: word 0 only). */
  private readonly src = new Uint32Array(4);
  private readonly dst = new Uint32Array(4);

  /** Counts into `t`'s talker, conversation and port tables. */
  constructor(t: AnalysisTables) {
    this.talkers = t.talkers;
    this.conversations = t.conversations;
    this.ports = t.ports;
  }

  /** Counts `d`, an IPv4 or IPv6 packet with addresses, of `len` bytes at `ms`. */
  count(d: DecodedPacket, len: number, ms: number): void {
    const src = this.src;
    const dst = this.dst;
    const v4 = d.l3 === "ipv4";
    // Words per address in the keys: IPv4 keys are shorter, so cheaper to hash and compare.
    const aw = v4 ? 1 : 4;
    if (v4) {
      src[0] = d.src4;
      dst[0] = d.dst4;
    } else {
      for (let w = 0; w < 4; w++) {
        src[w] = word(d.buf, d.srcOffset + 4 * w);
        dst[w] = word(d.buf, d.dstOffset + 4 * w);
      }
    }
    const proto = d.ipProto & 0xff;
    const hasPorts = (proto === 6 || proto === 17 || proto === 132) && d.srcPort >= 0 && d.dstPort >= 0;
    const sp = hasPorts ? d.srcPort : 0;
    const dp = hasPorts ? d.dstPort : 0;
    let order = 0;
    for (let w = 0; w < aw && order === 0; w++) order = (src[w] as number) - (dst[w] as number);
    // Both directions share the key ordered (lower address, port) first.
    const flipped = (order === 0 ? sp - dp : order) > 0;
    const a = flipped ? dst : src;
    const b = flipped ? src : dst;
    const conv = this.conversations;
    const key = conv.key;
    key[0] = ((v4 ? 4 : 6) << 16) | (hasPorts ? 0x100 : 0) | proto;
    for (let w = 0; w < aw; w++) {
      key[1 + w] = a[w] as number;
      key[1 + aw + w] = b[w] as number;
    }
    key[1 + 2 * aw] = flipped ? (dp << 16) | sp : (sp << 16) | dp;
    const c = conv.find(2 + 2 * aw);
    const created = conv.created;
    if (created) {
      conv.set(c, ConvCol.FIRST_MS, ms);
      conv.set(c, ConvCol.LAST_MS, ms);
      conv.set(c, ConvCol.FLIPPED, flipped ? 1 : 0);
    } else {
      if (ms < conv.get(c, ConvCol.FIRST_MS)) conv.set(c, ConvCol.FIRST_MS, ms);
      if (ms > conv.get(c, ConvCol.LAST_MS)) conv.set(c, ConvCol.LAST_MS, ms);
    }
    conv.add(c, flipped ? ConvCol.BA_PACKETS : ConvCol.AB_PACKETS, 1);
    conv.add(c, flipped ? ConvCol.BA_BYTES : ConvCol.AB_BYTES, len);
    conv.bump(c, len);

    const talkers = this.talkers;
    // A fresh row holds zeros, which could pass for valid slots: it always looks up.
    if (created || conv.get(c, ConvCol.TALKERS_EPOCH) !== talkers.evicted) {
      // Count each talker right after finding it: a new slot starts at the heap's minimum,
      // so an unbumped one would be the first evicted by the next lookup. The epoch is read
      // before the lookups: if the second evicts the first's slot, the next packet sees the
      // count moved and looks both up again.
      const epoch = talkers.evicted;
      const slotA = this.findTalker(v4, a);
      this.countTalker(slotA, !flipped, len);
      const slotB = this.findTalker(v4, b);
      this.countTalker(slotB, flipped, len);
      conv.set(c, ConvCol.TALKER_A, slotA);
      conv.set(c, ConvCol.TALKER_B, slotB);
      conv.set(c, ConvCol.TALKERS_EPOCH, epoch);
    } else {
      this.countTalker(conv.get(c, ConvCol.TALKER_A), !flipped, len);
      this.countTalker(conv.get(c, ConvCol.TALKER_B), flipped, len);
    }

    if (!hasPorts) return;
    const ports = this.ports;
    if (created || conv.get(c, ConvCol.PORT_EPOCH) !== ports.evicted) {
      conv.set(c, ConvCol.PORT_EPOCH, ports.evicted);
      ports.key[0] = (proto << 16) | Math.min(sp, dp);
      conv.set(c, ConvCol.PORT, ports.find(1));
    }
    const p = conv.get(c, ConvCol.PORT);
    ports.add(p, PortCol.PACKETS, 1);
    ports.add(p, PortCol.BYTES, len);
    ports.bump(p, len);
  }

  /** Counts a packet of `len` bytes sent (else received) by the talker in `slot`. */
  private countTalker(slot: number, sent: boolean, len: number): void {
    const talkers = this.talkers;
    talkers.add(slot, sent ? TalkerCol.SENT_PACKETS : TalkerCol.RECEIVED_PACKETS, 1);
    talkers.add(slot, sent ? TalkerCol.SENT_BYTES : TalkerCol.RECEIVED_BYTES, len);
    talkers.bump(slot, len);
  }

  /** The talker slot of `addr` (1 word for IPv4, else 4). */
  private findTalker(v4: boolean, addr: Uint32Array): number {
    const talkers = this.talkers;
    const key = talkers.key;
    key[0] = v4 ? 4 : 6;
    key[1] = addr[0] as number;
    if (v4) return talkers.find(2);
    key[2] = addr[1] as number;
    key[3] = addr[2] as number;
    key[4] = addr[3] as number;
    return talkers.find(5);
  }
}
