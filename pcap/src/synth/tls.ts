/**
 * A TLS ClientHello as a modern browser sends it (TLS 1.3 offered, 1.2 accepted), in one
 * record: record header, handshake header, hello body and the usual extensions, SNI first.
 */

/** Fields of the ClientHello; all optional but the server name. */
export interface ClientHelloOptions {
  /** server_name extension value; omit to send no SNI. */
  sni?: string;
  /** The 32-byte client random (default zeros). */
  random?: Uint8Array;
  /** Legacy session id, 0..32 bytes (default 32 zero bytes, as TLS 1.3 clients send). */
  sessionId?: Uint8Array;
  /** ALPN protocols (default h2, http/1.1). */
  alpn?: readonly string[];
  /** X25519 key share, 32 bytes (default zeros). */
  keyShare?: Uint8Array;
  /** Add a padding extension to reach 512 bytes of handshake (RFC 7685), as Chrome does (default true). */
  pad?: boolean;
}

const CIPHER_SUITES = [
  0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
  0x002f, 0x0035,
];
const SIGNATURE_ALGORITHMS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
const GROUPS = [0x001d, 0x0017, 0x0018];

/** Writes big-endian integers and byte strings into a growing array. */
class Writer {
  readonly bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u24(v: number): this {
    return this.u8(v >>> 16).u16(v);
  }
  u16s(values: readonly number[]): this {
    for (const v of values) this.u16(v);
    return this;
  }
  raw(b: Iterable<number>): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  /** A u16-length-prefixed block. */
  block16(fill: (w: Writer) => void): this {
    const inner = new Writer();
    fill(inner);
    return this.u16(inner.bytes.length).raw(inner.bytes);
  }
  block8(fill: (w: Writer) => void): this {
    const inner = new Writer();
    fill(inner);
    return this.u8(inner.bytes.length).raw(inner.bytes);
  }
  ext(type: number, fill: (w: Writer) => void): this {
    return this.u16(type).block16(fill);
  }
}

/** Builds a complete TLS record (content type 22) holding one ClientHello. */
export function buildTlsClientHello(o: ClientHelloOptions = {}): Buffer {
  const random = o.random ?? new Uint8Array(32);
  const sessionId = o.sessionId ?? new Uint8Array(32);
  const alpn = o.alpn ?? ["h2", "http/1.1"];
  const keyShare = o.keyShare ?? new Uint8Array(32);
  const exts = new Writer();
  const sni = o.sni;
  if (sni !== undefined) {
    const name = Buffer.from(sni, "latin1");
    exts.ext(0x0000, (w) => w.block16((l) => l.u8(0).u16(name.length).raw(name)));
  }
  exts
    .ext(0x0017, () => {})
    .ext(0xff01, (w) => w.u8(0))
    .ext(0x000a, (w) => w.block16((l) => l.u16s(GROUPS)))
    .ext(0x000b, (w) => w.block8((l) => l.u8(0)))
    .ext(0x0023, () => {})
    .ext(0x0010, (w) =>
      w.block16((l) => {
        for (const p of alpn) l.block8((e) => e.raw(Buffer.from(p, "latin1")));
      }),
    )
    .ext(0x0005, (w) => w.u8(1).u16(0).u16(0))
    .ext(0x000d, (w) => w.block16((l) => l.u16s(SIGNATURE_ALGORITHMS)))
    .ext(0x0012, () => {})
    .ext(0x0033, (w) => w.block16((l) => l.u16(0x001d).block16((k) => k.raw(keyShare))))
    .ext(0x002d, (w) => w.block8((l) => l.u8(1)))
    .ext(0x002b, (w) => w.block8((l) => l.u16(0x0304).u16(0x0303)));
  const body = new Writer()
    .u16(0x0303)
    .raw(random)
    .block8((w) => w.raw(sessionId))
    .block16((w) => w.u16s(CIPHER_SUITES))
    .block8((w) => w.u8(0));
  // Hello body + extensions length field + extensions; pad so the handshake reaches 512 bytes.
  const unpadded = 4 + body.bytes.length + 2 + exts.bytes.length;
  if (o.pad !== false && unpadded < 512) {
    const padLen = Math.max(0, 512 - unpadded - 4);
    exts.ext(0x0015, (w) => w.raw(new Uint8Array(padLen)));
  }
  body.block16((w) => w.raw(exts.bytes));
  const handshake = new Writer().u8(1).u24(body.bytes.length).raw(body.bytes);
  const record = new Writer()
    .u8(22)
    .u16(0x0301)
    .block16((w) => w.raw(handshake.bytes));
  return Buffer.from(record.bytes);
}

/**
 * Builds a TLS 1.3 ServerHello record (x25519 key share, TLS_AES_128_GCM_SHA256) followed by
 * the middlebox-compatibility ChangeCipherSpec record, as a server answers a ClientHello.
 */
export function buildTlsServerHello(
  o: { random?: Uint8Array; sessionId?: Uint8Array; keyShare?: Uint8Array } = {},
): Buffer {
  const body = new Writer()
    .u16(0x0303)
    .raw(o.random ?? new Uint8Array(32))
    .block8((w) => w.raw(o.sessionId ?? new Uint8Array(32)))
    .u16(0x1301)
    .u8(0)
    .block16((w) =>
      w
        .ext(0x002b, (e) => e.u16(0x0304))
        .ext(0x0033, (e) => e.u16(0x001d).block16((k) => k.raw(o.keyShare ?? new Uint8Array(32)))),
    );
  const handshake = new Writer().u8(2).u24(body.bytes.length).raw(body.bytes);
  const record = new Writer()
    .u8(22)
    .u16(0x0303)
    .block16((w) => w.raw(handshake.bytes))
    .raw([20, 3, 3, 0, 1, 1]);
  return Buffer.from(record.bytes);
}
