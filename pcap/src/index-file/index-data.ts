/**
 * What an index holds, independent of how it is stored: the capture's identity at build time
 * (for staleness checks), the extent indexed, the time blocks and the five key families.
 */
import type { CaptureFormat } from "../format/capture-reader.js";
import type { KeyFamily } from "./key-family.js";
import type { BlockTable } from "./time-blocks.js";

/** Version of the on-disk format; any other version is discarded and rebuilt. */
export const INDEX_VERSION = 2;

/** Key of the VLAN family that every VLAN-tagged packet carries (ids are 12 bits, so no clash). */
export const ANY_VLAN = 0x10000;

/** The capture and extent an index describes. */
export interface IndexHeader {
  /** Absolute real path of the capture when indexed. */
  readonly capturePath: string;
  /** File size when indexed (bytes). */
  readonly size: number;
  /** Modification time when indexed, nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  /** Inode and device when indexed: another file at the same path is another capture. */
  readonly ino: bigint;
  readonly dev: bigint;
  /** Container format. */
  readonly format: CaptureFormat;
  /** LINKTYPE_* values of the capture, in order of appearance. */
  readonly linkTypes: readonly number[];
  /** Packets indexed. */
  readonly packets: number;
  /** Earliest and latest packet timestamp (all zero when there are no packets). */
  readonly minSec: number;
  readonly minNsec: number;
  readonly maxSec: number;
  readonly maxNsec: number;
  /** Offset of the first record: where a scan of the whole file starts. */
  readonly dataStart: number;
  /**
   * Offset up to which records are indexed: the end of the last complete record (a file still
   * being written may end in a partial one). Records from here on are not in the index.
   */
  readonly indexedEnd: number;
  /** False when a packet has a link type the key extractor does not know: every lookup is "all". */
  readonly indexable: boolean;
  /** Packets per time block. */
  readonly blockPackets: number;
  /** A key in more than `packets / denseDivisor` packets is dense (not stored). */
  readonly denseDivisor: number;
  /** CRC-32 of the capture's first `headLength` bytes, to tell an append from a rewrite. */
  readonly headCrc: number;
  readonly headLength: number;
  /** CRC-32 of the `tailLength` bytes just before `indexedEnd`. */
  readonly tailCrc: number;
  readonly tailLength: number;
}

/** The key families, one per kind of index term. */
export interface KeyFamilies {
  /** IPv4 addresses: IP source and destination, ARP/RARP sender and target. */
  readonly ip4: KeyFamily;
  /** IPv6 source and destination addresses (4 words each). */
  readonly ip6: KeyFamily;
  /** TCP, UDP and SCTP source and destination ports. */
  readonly port: KeyFamily;
  /** IPv4 protocols and IPv6 next headers (every one of the extension chain). */
  readonly proto: KeyFamily;
  /** VLAN ids of every tag, plus {@link ANY_VLAN} for "has a tag". */
  readonly vlan: KeyFamily;
}

/** Family names in storage order. */
export const FAMILY_NAMES = ["ip4", "ip6", "port", "proto", "vlan"] as const;

/** A complete index. */
export interface IndexData {
  readonly header: IndexHeader;
  readonly blocks: BlockTable;
  readonly families: KeyFamilies;
}
