/**
 * A TCP conversation: three-way handshake, application turns in both directions (segments
 * of at most one MSS, the receiver acknowledging every second segment), then FIN exchange
 * (or, now and then, a reset). Every packet is stamped from the flow's header templates.
 */
import { IpProto, TcpFlags } from "../decode/protocols.js";
import {
  arrivalTtl,
  type Dir,
  ephemeralPort,
  type Flow,
  type FlowContext,
  type FlowLink,
  flowTemplates,
} from "./flow-context.js";
import type { PacketTemplate, SegmentPayload } from "./template.js";
import { emitTcp } from "./template.js";

/** One application turn: `bytes` sent by `dir`, starting with `prefix` (then pool bytes). */
export interface Turn {
  dir: Dir;
  bytes: number;
  prefix: Buffer | null;
  /** Frame the bytes after the prefix as TLS records of this many payload bytes (0: no records). */
  recordSize: number;
}

/** Endpoints and script of a TCP flow, decided by the application model. */
export interface TcpFlowSpec {
  /** Client and server addresses (4 or 16 bytes). */
  client: Buffer;
  server: Buffer;
  serverPort: number;
  turns: Turn[];
  link: FlowLink;
}

const Phase = { Syn: 0, SynAck: 1, Ack: 2, Data: 3, Fin1: 4, Fin2: 5, LastAck: 6, Done: 7 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

const NO_OPTIONS = Buffer.alloc(0);

/** A TCP flow that yields its packets one at a time. */
export class TcpFlow implements Flow {
  private readonly ctx: FlowContext;
  private readonly t: [PacketTemplate, PacketTemplate];
  private readonly port: [number, number];
  private readonly nxt: [number, number];
  private readonly tsval: [number, number];
  private readonly win: [number, number];
  private readonly tsOpt: [Buffer, Buffer];
  private readonly mss: number;
  private readonly turns: Turn[];
  private readonly reset: boolean;
  private readonly seg: SegmentPayload = {
    prefix: null,
    streamOffset: 0,
    length: 0,
    total: 0,
    recordSize: 0,
    recordStart: 0,
  };
  private phase: Phase = Phase.Syn;
  private turn = 0;
  private sent = 0;
  private unacked = 0;

  constructor(ctx: FlowContext, spec: TcpFlowSpec) {
    const rng = ctx.rng;
    this.ctx = ctx;
    this.t = flowTemplates(ctx, spec.link, spec.client, spec.server, IpProto.TCP, arrivalTtl(ctx));
    this.port = [ephemeralPort(ctx), spec.serverPort];
    this.nxt = [rng.u32(), rng.u32()];
    this.tsval = [rng.u32(), rng.u32()];
    this.win = [rng.range(400, 2000), rng.range(200, 1000)];
    // Linux puts NOP, NOP, Timestamps on every segment after the handshake.
    this.tsOpt = [
      Buffer.from([1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from([1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]),
    ];
    this.mss = spec.client.length === 16 ? 1428 : 1448;
    this.turns = spec.turns;
    this.reset = rng.chance(0.05);
  }

  next(): Buffer | null {
    for (;;) {
      switch (this.phase) {
        case Phase.Syn:
          this.phase = Phase.SynAck;
          return this.control(0, TcpFlags.SYN, 0, 64240, 1);
        case Phase.SynAck:
          this.phase = Phase.Ack;
          return this.control(1, TcpFlags.SYN | TcpFlags.ACK, this.nxt[0], 65160, 1);
        case Phase.Ack:
          this.phase = Phase.Data;
          return this.control(0, TcpFlags.ACK, this.nxt[1], this.win[0], 0);
        case Phase.Data: {
          const packet = this.data();
          if (packet !== null) return packet;
          this.phase = Phase.Fin1;
          break;
        }
        case Phase.Fin1:
          if (this.reset) {
            this.phase = Phase.Done;
            return this.control(0, TcpFlags.RST | TcpFlags.ACK, this.nxt[1], 0, 0);
          }
          this.phase = Phase.Fin2;
          return this.control(0, TcpFlags.FIN | TcpFlags.ACK, this.nxt[1], this.win[0], 1);
        case Phase.Fin2:
          this.phase = Phase.LastAck;
          return this.control(1, TcpFlags.FIN | TcpFlags.ACK, this.nxt[0], this.win[1], 1);
        case Phase.LastAck:
          this.phase = Phase.Done;
          return this.control(0, TcpFlags.ACK, this.nxt[1], this.win[0], 0);
        default:
          return null;
      }
    }
  }

  /** The next data or acknowledgement segment of the application turns, or null when all are sent. */
  private data(): Buffer | null {
    for (;;) {
      const tr = this.turns[this.turn];
      if (tr === undefined) return null;
      const d = tr.dir;
      const r: Dir = d === 0 ? 1 : 0;
      if (this.unacked >= 2) {
        this.unacked = 0;
        return this.control(r, TcpFlags.ACK, this.nxt[d], this.win[r], 0);
      }
      if (this.sent < tr.bytes) {
        const len = Math.min(this.mss, tr.bytes - this.sent);
        const last = this.sent + len >= tr.bytes;
        const seg = this.seg;
        seg.prefix = tr.prefix;
        seg.streamOffset = this.sent;
        seg.length = len;
        seg.total = tr.bytes;
        seg.recordSize = tr.recordSize;
        seg.recordStart = tr.prefix === null ? 0 : tr.prefix.length;
        const packet = this.segment(d, TcpFlags.ACK | (last ? TcpFlags.PSH : 0), seg);
        this.sent += len;
        this.unacked++;
        return packet;
      }
      this.turn++;
      this.sent = 0;
      const following = this.turns[this.turn];
      if (this.unacked > 0 && (following === undefined || following.dir === d)) {
        this.unacked = 0;
        return this.control(r, TcpFlags.ACK, this.nxt[d], this.win[r], 0);
      }
      // Otherwise the other side's first segment of the next turn carries the acknowledgement.
      this.unacked = 0;
    }
  }

  private stampTs(dir: Dir): Buffer {
    const o = this.tsOpt[dir];
    const v = (this.tsval[dir] + 1 + (this.ctx.rng.u32() & 3)) >>> 0;
    this.tsval[dir] = v;
    o.writeUInt32BE(v, 4);
    o.writeUInt32BE(this.tsval[dir === 0 ? 1 : 0], 8);
    return o;
  }

  /** A segment without payload; SYN and FIN consume one sequence number (`consumes`). */
  private control(dir: Dir, flags: number, ack: number, window: number, consumes: number): Buffer {
    const seq = this.nxt[dir];
    this.nxt[dir] = (seq + consumes) >>> 0;
    const opts =
      (flags & TcpFlags.SYN) !== 0
        ? this.synOptions(dir)
        : flags & TcpFlags.RST
          ? NO_OPTIONS
          : this.stampTs(dir);
    return emitTcp(
      this.t[dir],
      this.ctx.pool,
      0,
      this.port[dir],
      this.port[dir === 0 ? 1 : 0],
      seq,
      ack,
      flags,
      window,
      opts,
      null,
    );
  }

  private segment(dir: Dir, flags: number, seg: SegmentPayload): Buffer {
    const seq = this.nxt[dir];
    this.nxt[dir] = (seq + seg.length) >>> 0;
    const r: Dir = dir === 0 ? 1 : 0;
    const pool = this.ctx.pool;
    const poolOffset = pool.offset(this.ctx.rng, seg.length);
    return emitTcp(
      this.t[dir],
      pool,
      poolOffset,
      this.port[dir],
      this.port[r],
      seq,
      this.nxt[r],
      flags,
      this.win[dir],
      this.stampTs(dir),
      seg,
    );
  }

  /** Linux SYN options: MSS, SACK permitted, timestamps, NOP, window scale 7. */
  private synOptions(dir: Dir): Buffer {
    const b = Buffer.from([2, 4, 0, 0, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7]);
    b.writeUInt16BE(this.mss + 12, 2);
    b.writeUInt32BE(this.tsval[dir] >>> 0, 8);
    b.writeUInt32BE(dir === 0 ? 0 : this.tsval[0] >>> 0, 12);
    return b;
  }
}
