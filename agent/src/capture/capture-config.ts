/**
 * Configuration of the agent's own capture: one ring writer per entry (ADR 0013). Validated
 * with zod as part of the agent's config file; defaults are merged here, in one place.
 */
import { z } from "zod";

/** Largest snapshot length libpcap accepts (and the engine's MAX_CAPLEN). */
export const MAX_SNAPLEN = 262_144;

/** Interface names as Linux allows them (IFNAMSIZ 16, no '/', no blanks); also rules out argv tricks. */
const interfaceName = z
  .string()
  .min(1)
  .max(15)
  .regex(/^[A-Za-z0-9_.:@-]+$/, "interface name: letters, digits and _ . : @ - only")
  .refine((name) => !name.startsWith("-"), "interface name must not start with '-'");

/** A file-name prefix: one path component, so rings never escape their directory. */
const filePrefix = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.@-]+$/, "filePrefix: letters, digits and _ . @ - only")
  .refine(
    (prefix) => !prefix.startsWith(".") && !prefix.startsWith("-"),
    "filePrefix must not start with '.' or '-'",
  );

/** One capture: an interface, its BPF filter, and the ring it fills. */
export const captureEntrySchema = z
  .object({
    /** Network interface to capture on (`eth1`, `any`). */
    interface: interfaceName,
    /** Capture filter in tcpdump syntax; absent or empty: every packet. */
    filter: z.string().max(8192).optional(),
    /** Ring directory; the agent serves it as a store. */
    dir: z.string().min(1),
    /** Bytes kept of each packet. */
    snaplen: z.coerce.number().int().min(64).max(MAX_SNAPLEN).default(MAX_SNAPLEN),
    /** A new file once the current one would grow past this many bytes. */
    rotateBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(2 ** 40)
      .default(256 * 2 ** 20),
    /** A new file once the first packet of the current one is this many seconds old. */
    rotateSeconds: z.coerce.number().positive().max(86_400).default(300),
    /** Oldest files are deleted while the ring's filesystem is fuller than this (percent). */
    maxDiskPercent: z.coerce.number().positive().max(100).default(90),
    /** Files whose newest packet is older than this are deleted; absent: no age limit. */
    maxAgeHours: z.coerce.number().positive().optional(),
    /** Start of every file name of this ring (default: the interface name). */
    filePrefix: filePrefix.optional(),
    /** Kernel capture buffer in KiB (tcpdump -B): absorbs bursts while the agent is busy. */
    bufferKiB: z.coerce
      .number()
      .int()
      .min(256)
      .max(4 * 2 ** 20)
      .default(32 * 1024),
  })
  .strict();

/** Every capture of an agent. Two captures never write the same prefix into the same directory. */
export const captureConfigSchema = z.array(captureEntrySchema).superRefine((entries, context) => {
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const key = `${entry.dir.replace(/\/+$/, "")}\0${entry.filePrefix ?? entry.interface}`;
    const first = seen.get(key);
    if (first !== undefined) {
      context.addIssue({
        code: "custom",
        path: [index, "filePrefix"],
        message: `capture ${index} writes the same files as capture ${first} (same dir and filePrefix)`,
      });
    }
    seen.set(key, index);
  });
});

/** One validated capture entry, defaults applied. */
export type CaptureConfig = z.output<typeof captureEntrySchema>;

/** A capture entry as written in a config file (defaults not yet applied). */
export type CaptureConfigInput = z.input<typeof captureEntrySchema>;

/** The file-name prefix of a capture: `filePrefix`, else the interface name. */
export function capturePrefix(config: CaptureConfig): string {
  return config.filePrefix ?? config.interface.replace(/[^A-Za-z0-9_.@-]/g, "_");
}
