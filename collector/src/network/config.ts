import { z } from "zod";
import { parsePrefix } from "./cidr.js";

/**
 * The network map's settings, a fragment of the collector's configuration (`network:`). Every
 * key has a default, so `networkConfigSchema.parse({})` is the documented behaviour. The
 * learning rule these numbers feed is described in `learn.ts`.
 */

const cidr = z.string().superRefine((value, ctx) => {
  try {
    parsePrefix(value, "include");
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
});

/** Schema of the `network:` settings. */
export const networkConfigSchema = z
  .object({
    /** Seconds between runs of the rollups and the learner (one collector at a time runs them). */
    intervalS: z.number().min(0.2).max(3600).default(60),
    /** Hours of source traffic the learner weighs. */
    lookbackHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(24),
    /** Source packets a location must have seen of a prefix in the lookback to learn it. */
    minPackets: z.number().int().min(1).default(100),
    /**
     * Share of a prefix's source bytes (over all locations) a location needs to learn it. 0.5:
     * at most two locations, and two only on an exact tie.
     */
    minShare: z.number().gt(0).max(1).default(0.5),
    /** Days without source traffic after which a learned entry is forgotten. */
    forgetAfterDays: z.number().min(1).max(3650).default(7),
    /** Prefixes the learner may learn (CIDRs containing them); empty: every prefix. */
    include: z.array(cidr).max(1000).default([]),
    /** Seconds a looked-up address stays in each collector's cache. */
    cacheTtlS: z.number().min(1).max(86_400).default(60),
    /** Addresses each collector's lookup cache holds at most (least recently used go first). */
    cacheMaxEntries: z.number().int().min(1).max(10_000_000).default(100_000),
  })
  .strict();

/** Validated network settings; see {@link networkConfigSchema}. */
export type NetworkConfig = Readonly<z.output<typeof networkConfigSchema>>;
