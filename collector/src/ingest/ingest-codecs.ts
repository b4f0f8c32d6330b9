import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  bindService,
  codecEntry,
  defaultCodecs,
  type HandlerContext,
  type HeartbeatsRequest,
  SensorIngest,
  type ServiceBinding,
  type ServiceImpl,
} from "@pcapfleet/proto";
import { decodeHeartbeatsRequest, type IngestRequest } from "./heartbeat-codec.js";

/**
 * The SensorIngest service bound with the collector's own request decoder: grpc-js hands the
 * handler what `decodeHeartbeatsRequest` made of each message (an {@link IngestRequest}),
 * instead of a protobuf-es `HeartbeatsRequest`. Responses (acks) still go through protobuf-es.
 */

/** What the heartbeats handler yields: a HeartbeatsResponse (init shape). */
export type Ack = MessageInitShape<typeof SensorIngest.method.heartbeats.output>;

/** The heartbeats handler, reading decoded requests. */
export type IngestHandler = (
  requests: AsyncIterable<IngestRequest>,
  context: HandlerContext,
) => AsyncIterable<Ack>;

/**
 * Binds `handler` as `SensorIngest.Heartbeats` with {@link decodeHeartbeatsRequest} as the
 * method's request deserializer (the grpc adapter's per-method codec hook).
 */
export function bindIngestService(handler: IngestHandler): ServiceBinding {
  const codecs = new Map(defaultCodecs);
  const [path, codec] = codecEntry(SensorIngest.method.heartbeats, {
    // The codec hook is typed for decoders returning the method's message; grpc-js passes the
    // deserializer's result to the handler untouched, and the handler bound below (the only
    // reader of these values) takes exactly what this decoder returns.
    deserializeRequest: decodeHeartbeatsRequest as unknown as (bytes: Buffer) => HeartbeatsRequest,
  });
  codecs.set(path, codec);
  const impl = { heartbeats: handler } as unknown as ServiceImpl<typeof SensorIngest>;
  return bindService(SensorIngest, impl, codecs);
}
