import { z } from "@hono/zod-openapi";
import { locationNameSchema } from "../routes/sensor-schemas.js";
import { parsePrefix } from "./cidr.js";

/**
 * Request and response schemas of the network routes. Field names are snake_case like the rest
 * of the API; times are RFC 3339; byte and packet counts are numbers (exact up to 2^53).
 */

const iso = () => z.string().openapi({ format: "date-time", description: "RFC 3339" });

/** A prefix or address checked by `parsePrefix`, so the 400 says what is wrong with it. */
export const prefixText = (what: string) =>
  z
    .string()
    .max(64)
    .superRefine((value, ctx) => {
      try {
        parsePrefix(value, what);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
      }
    });

const windowFields = {
  from: z.iso.datetime({ offset: true }).optional().openapi({ description: "Window start (RFC 3339)" }),
  to: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: "Window end (RFC 3339), exclusive; default now" }),
};

/** `minute`, `hour` or `day`. */
export const bucketSchema = z.enum(["minute", "hour", "day"]).openapi("TrafficBucket");

/** `{name}` of a location. */
export const locationParams = z.strictObject({
  name: locationNameSchema.openapi({ param: { name: "name", in: "path" }, example: "site-a" }),
});

/** Query of `GET /network/locations`. */
export const locationsQuery = z.strictObject({ ...windowFields });

/** Query of `GET /network/traffic`. */
export const trafficQuery = z.strictObject({
  ...windowFields,
  bucket: bucketSchema.default("hour"),
  location: locationNameSchema.optional().openapi({ description: "Only this location and its flows" }),
});

/** Query of `GET /network/subnets`. */
export const subnetsQuery = z.strictObject({
  ...windowFields,
  location: locationNameSchema.optional().openapi({ description: "Only subnets the map places here" }),
  source: z.enum(["manual", "learned", "unmapped"]).optional(),
  within: prefixText("within").optional().openapi({ description: "Only subnets inside this prefix" }),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/** Query of `GET /network/lookup`. */
export const lookupQuery = z.strictObject({
  address: z
    .string()
    .min(1)
    .max(6500)
    .openapi({ description: "Addresses or networks, comma-separated (at most 100)", example: "10.1.2.3" }),
});

/** Query of `GET /network/analytics/top-subnets`. */
export const topQuery = z.strictObject({
  ...windowFields,
  direction: z.enum(["src", "dst", "both"]).default("src"),
  location: locationNameSchema.optional().openapi({ description: "Only traffic seen at this location" }),
  limit: z.coerce.number().int().min(1).max(1000).default(10),
});

/** Query of `GET /network/analytics/traffic-over-time`. */
export const overTimeQuery = z.strictObject({
  ...windowFields,
  bucket: bucketSchema.default("hour"),
  location: locationNameSchema.optional().openapi({ description: "Seen at this location's sensors" }),
  to_location: locationNameSchema.optional().openapi({
    description: "The flow to this location (from `location`, or from all others); not with `prefix`",
  }),
  prefix: prefixText("prefix").optional().openapi({ description: "Only prefixes inside this one" }),
  direction: z.enum(["src", "dst"]).default("src"),
});

const coordinate = (max: number) => z.number().min(-max).max(max).nullable();
const metadataSchema = z
  .record(z.string().max(128), z.unknown())
  .refine((value) => JSON.stringify(value).length <= 16_384, "at most 16 KiB of JSON")
  .openapi({ description: "Site metadata (free-form JSON object)" });

/** Body of `POST /network/locations`. */
export const createLocationBody = z.strictObject({
  name: locationNameSchema,
  description: z.string().max(1000).optional(),
  latitude: coordinate(90).optional(),
  longitude: coordinate(180).optional(),
  metadata: metadataSchema.optional(),
});

/** Body of `PATCH /network/locations/{name}`. */
export const updateLocationBody = createLocationBody.omit({ name: true });

/** Body of `POST /network/subnets`. */
export const manualEntryBody = z.strictObject({
  prefix: prefixText("prefix"),
  location: locationNameSchema,
  description: z.string().max(1000).optional(),
});

/** Query of `DELETE /network/subnets`. */
export const removeEntryQuery = z.strictObject({
  prefix: prefixText("prefix"),
  location: locationNameSchema.optional(),
});

const source = z.enum(["manual", "learned"]);

export const locationRecordSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: iso(),
    updated_at: iso(),
  })
  .openapi("NetworkLocationRecord");

export const mapEntrySchema = z
  .object({
    prefix: z.string(),
    location: z.string(),
    source,
    description: z.string(),
    created_at: iso(),
    updated_at: iso(),
    first_seen_at: iso().nullable(),
    last_seen_at: iso().nullable(),
    learned_bytes: z.number().nullable(),
    learned_packets: z.number().nullable(),
    learned_share: z.number().nullable(),
  })
  .openapi("SubnetMapEntry");

export const networkLocationSchema = locationRecordSchema
  .extend({
    sensor_count: z.number().int(),
    sensors_by_status: z.object({ online: z.number(), degraded: z.number(), offline: z.number() }),
    subnets: z.array(mapEntrySchema),
    traffic: z.object({ bytes: z.number(), packets: z.number() }),
  })
  .openapi("NetworkLocation");

const volume = { bytes: z.number(), packets: z.number() };

export const trafficSchema = z
  .object({
    from: iso(),
    to: iso(),
    bucket: bucketSchema,
    locations: z.array(z.object({ location: z.string(), ...volume })),
    series: z.array(z.object({ time: iso(), location: z.string(), ...volume })),
    flows: z.array(z.object({ from_location: z.string(), to_location: z.string(), ...volume })),
  })
  .openapi("NetworkTraffic");

export const activeSubnetSchema = z
  .object({
    prefix: z.string(),
    locations: z.array(z.string()),
    source: source.nullable(),
    seen_at: z.array(z.string()),
    first_seen: iso(),
    last_seen: iso(),
    bytes_sent: z.number(),
    packets_sent: z.number(),
    bytes_received: z.number(),
    packets_received: z.number(),
  })
  .openapi("ActiveSubnet");

const matchSchema = z.object({ prefix: z.string(), location: z.string(), source });

export const lookupResultSchema = z
  .object({ address: z.string(), matches: z.array(matchSchema), within: z.array(matchSchema) })
  .openapi("SubnetLookup");

export const topSubnetSchema = z
  .object({ prefix: z.string(), locations: z.array(z.string()), source: source.nullable(), ...volume })
  .openapi("TopSubnet");

export const pointSchema = z.object({ time: iso(), ...volume }).openapi("TrafficPoint");
