/**
 * Big-endian reads for the decoder's hot path. Callers have already checked the bounds, so
 * these skip Buffer.readUInt*'s own checks (and their exceptions) and inline well.
 */

/** Unsigned 16-bit big-endian integer at `p`. */
export function u16(buf: Uint8Array, p: number): number {
  return ((buf[p] as number) << 8) | (buf[p + 1] as number);
}

/** Unsigned 32-bit big-endian integer at `p`. */
export function u32(buf: Uint8Array, p: number): number {
  return (
    (buf[p] as number) * 0x1000000 +
    (((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8) | (buf[p + 3] as number))
  );
}
