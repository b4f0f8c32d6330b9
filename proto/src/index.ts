/**
 * @pcapfleet/proto: the gRPC contracts of pcapfleet (generated protobuf-es messages and
 * service descriptors) and the grpc-js adapter that serves and calls them.
 */
export * from "./gen/pcapfleet/v1/capture_pb.js";
export * from "./gen/pcapfleet/v1/common_pb.js";
export * from "./gen/pcapfleet/v1/ingest_pb.js";
export * from "./gen/pcapfleet/v1/jobs_pb.js";
export * from "./gen/pcapfleet/v1/sensor_pb.js";
export * from "./grpc-adapter.js";
export * from "./grpc-errors.js";
export * from "./grpc-handlers.js";
export * from "./reflection.js";
export * from "./server.js";
export * from "./slice-client.js";
export { whenSent } from "./slice-codec.js";
export * from "./tls.js";
