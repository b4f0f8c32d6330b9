/**
 * Bridges protobuf-es v2 descriptors to @grpc/grpc-js: a `DescService` becomes a grpc-js
 * `ServiceDefinition` for servers, and a typed client for callers. protobuf-es has no grpc-js
 * plugin, and going through it keeps one set of generated types for both ends of every call.
 */
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { CaptureService } from "./gen/pcapfleet/v1/capture_pb.js";
import { DownloadPcapResponseSchema, JobService } from "./gen/pcapfleet/v1/jobs_pb.js";
import { chunkStreamCodec, deserializeSliceResponse, serializeSliceResponse } from "./slice-codec.js";

/** The four method kinds of gRPC, as protobuf-es names them. */
export type MethodKind = DescMethod["methodKind"];

/**
 * Picks the request and response schemas of a generated method descriptor of kind `K`.
 * Generated services describe each method as `{methodKind, input, output}`, which is what
 * lets the client and handler types below follow the `.proto` file.
 */
export type MethodOf<K extends MethodKind, I extends DescMessage, O extends DescMessage> = {
  readonly methodKind: K;
  readonly input: I;
  readonly output: O;
};

/** The HTTP/2 path of a method: `/pcapfleet.v1.CaptureService/Slice`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * Encoder for grpc-js. Accepts a message or a plain init object, as `create()` does, so
 * callers and handlers can write `{ sequence: 1n }` without wrapping it first.
 */
export function serializer<D extends DescMessage>(schema: D): (value: MessageInitShape<D>) => Buffer {
  return (value) => {
    // create() returns a message of this schema unchanged, so this costs nothing for messages.
    const bytes = toBinary(schema, create(schema, value));
    // grpc-js copies the result with Buffer#copy, so it must be a Buffer; a view avoids a copy.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/**
 * Decoder for grpc-js. It throws on malformed bytes; grpc-js catches that on both ends and
 * fails only the call (INTERNAL), never the process.
 */
export function deserializer<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => fromBinary(schema, bytes);
}

/**
 * Encoders and decoders of one method that replace the generic protobuf-es ones, for a method
 * whose messages are hot enough to be worth hand-written code (Slice). Each must accept and
 * produce exactly what protobuf-es does for the same schema.
 */
export interface MethodCodec<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  readonly serializeRequest?: (value: MessageInitShape<I>) => Buffer;
  readonly deserializeRequest?: (bytes: Buffer) => MessageShape<I>;
  readonly serializeResponse?: (value: MessageInitShape<O>) => Buffer;
  readonly deserializeResponse?: (bytes: Buffer) => MessageShape<O>;
}

/** Method codecs by method path (`/pcapfleet.v1.CaptureService/Slice`); see {@link codecEntry}. */
export type MethodCodecs = ReadonlyMap<string, MethodCodec>;

/** An entry of {@link MethodCodecs}, typed by the method it overrides. */
export function codecEntry<I extends DescMessage, O extends DescMessage>(
  method: MethodOf<MethodKind, I, O> & DescMethod,
  codec: MethodCodec<I, O>,
): readonly [string, MethodCodec] {
  // The map is looked up by path at runtime, where the method's schemas are erased; the typed
  // signature above is what ties the codec to its method.
  return [methodPath(method), codec as unknown as MethodCodec];
}

const downloadCodec = chunkStreamCodec(DownloadPcapResponseSchema);

/**
 * The codecs every server and client of this package uses unless told otherwise: Slice and
 * DownloadPcap responses (every byte of a slice, of a downloaded result) through the
 * hand-written codec of `slice-codec.ts`.
 */
export const defaultCodecs: MethodCodecs = new Map([
  codecEntry(CaptureService.method.slice, {
    serializeResponse: serializeSliceResponse,
    deserializeResponse: deserializeSliceResponse,
  }),
  codecEntry(JobService.method.downloadPcap, {
    serializeResponse: downloadCodec.serialize,
    deserializeResponse: downloadCodec.deserialize,
  }),
]);

/**
 * The grpc-js definition of a service, keyed by each method's `localName` (`getStatus`), which
 * is also how handler objects and typed clients name methods. `codecs` replace the protobuf-es
 * encoders of the methods they name.
 */
export function toServiceDefinition(
  service: DescService,
  codecs: MethodCodecs = defaultCodecs,
): grpc.ServiceDefinition {
  // Requests arrive decoded as messages; responses may be handed over as init objects.
  const definition: Record<string, grpc.MethodDefinition<Message, MessageInit>> = {};
  for (const method of service.methods) {
    const codec = codecs.get(methodPath(method)) ?? {};
    definition[method.localName] = {
      path: methodPath(method),
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: codec.serializeRequest ?? serializer(method.input),
      requestDeserialize: codec.deserializeRequest ?? deserializer(method.input),
      responseSerialize: codec.serializeResponse ?? serializer(method.output),
      responseDeserialize: codec.deserializeResponse ?? deserializer(method.output),
    };
  }
  return definition;
}

/** Per-call options of a typed client method. */
export interface CallOptions {
  /** Request metadata (headers). */
  readonly metadata?: grpc.Metadata;
  /** Deadline of the whole call; the server sees DEADLINE_EXCEEDED after it. */
  readonly deadline?: grpc.Deadline;
  /** Cancels the call when aborted; the server sees CANCELLED. */
  readonly signal?: AbortSignal;
}

/** A server-streaming call: iterate the responses; breaking out of the loop cancels the call. */
export interface ServerStreamingCall<O extends DescMessage> {
  /** The responses; a failed call throws its grpc `ServiceError` from the loop. */
  readonly responses: AsyncIterable<MessageShape<O>>;
  /** The grpc-js call, for metadata and status events. */
  readonly call: grpc.ClientReadableStream<MessageShape<O>>;
}

/** A client-streaming call: write requests, end, then await the one response. */
export interface ClientStreamingCall<I extends DescMessage, O extends DescMessage> {
  /** Where requests go; call `end()` when done. */
  readonly requests: grpc.ClientWritableStream<MessageInitShape<I>>;
  /** The response, or the call's error as a grpc `ServiceError`. */
  readonly response: Promise<MessageShape<O>>;
}

/** A bidi-streaming call: write requests (and `end()`) while iterating the responses. */
export interface BidiStreamingCall<I extends DescMessage, O extends DescMessage> {
  /** The grpc-js call; write requests to it, `end()` it when done. */
  readonly requests: grpc.ClientDuplexStream<MessageInitShape<I>, MessageShape<O>>;
  /** The responses; a failed call throws its grpc `ServiceError` from the loop. */
  readonly responses: AsyncIterable<MessageShape<O>>;
}

/** The typed client function of one method, chosen by its kind. */
export type ClientMethod<M> =
  M extends MethodOf<"unary", infer I, infer O>
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : M extends MethodOf<"server_streaming", infer I, infer O>
      ? (request: MessageInitShape<I>, options?: CallOptions) => ServerStreamingCall<O>
      : M extends MethodOf<"client_streaming", infer I, infer O>
        ? (options?: CallOptions) => ClientStreamingCall<I, O>
        : M extends MethodOf<"bidi_streaming", infer I, infer O>
          ? (options?: CallOptions) => BidiStreamingCall<I, O>
          : never;

/**
 * A typed client of service `S`: one function per method, named by `localName`. Unary calls
 * return promises that reject with grpc's `ServiceError` (turn it into an AppError with
 * `AppError.from`); streamed responses are typed async iterables over grpc-js streams, so a
 * consumer that reads slowly slows the sender down.
 */
export type TypedClient<S extends DescService> = {
  readonly [K in keyof S["method"]]: ClientMethod<S["method"][K]>;
};

/**
 * Channel options {@link createChannel} starts from. The HTTP/2 receive window is the most a
 * server may send before the client acknowledges (WINDOW_UPDATE); the 64 KiB default is less
 * than one Slice chunk, so every chunk waited for a round trip through both event loops. 4 MiB
 * keeps a slice streaming while bounding what one slow reader buffers per stream.
 */
export const channelDefaults: Readonly<grpc.ClientOptions> = {
  "grpc-node.flow_control_window": 4 * 1024 * 1024,
};

/**
 * Opens a channel to `address` (host:port). Several typed clients may share one channel; close
 * it with `channel.close()` when done. Plaintext unless credentials are given; `options` are
 * merged over {@link channelDefaults}.
 */
export function createChannel(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ClientOptions = {},
): grpc.Client {
  return new grpc.Client(address, credentials, { ...channelDefaults, ...options });
}

/**
 * Builds the typed client of `service` over `channel` (see {@link createChannel}); `codecs`
 * replace the protobuf-es encoders of the methods they name.
 */
export function createClient<S extends DescService>(
  service: S,
  channel: grpc.Client,
  codecs: MethodCodecs = defaultCodecs,
): TypedClient<S> {
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    client[method.localName] = clientMethod(method, channel, codecs.get(methodPath(method)) ?? {});
  }
  // The loop above builds exactly one function per method with the shape ClientMethod picks for
  // its kind; TypeScript cannot follow a runtime loop over a mapped type, hence the cast.
  return client as TypedClient<S>;
}

type Message = MessageShape<DescMessage>;
type MessageInit = MessageInitShape<DescMessage>;

function clientMethod(method: DescMethod, channel: grpc.Client, codec: MethodCodec): unknown {
  const path = methodPath(method);
  const serialize = codec.serializeRequest ?? serializer(method.input);
  const deserialize = codec.deserializeResponse ?? deserializer(method.output);
  switch (method.methodKind) {
    case "unary":
      return (request: MessageInit, options: CallOptions = {}): Promise<Message> =>
        new Promise((resolve, reject) => {
          const call = channel.makeUnaryRequest(
            path,
            serialize,
            deserialize,
            request,
            options.metadata ?? new grpc.Metadata(),
            grpcCallOptions(options),
            (error, response) => {
              if (error !== null) reject(error);
              else if (response === undefined) reject(new Error(`${path}: call ended without a response`));
              else resolve(response);
            },
          );
          linkSignal(call, options.signal);
        });
    case "server_streaming":
      return (request: MessageInit, options: CallOptions = {}): ServerStreamingCall<DescMessage> => {
        const call = channel.makeServerStreamRequest(
          path,
          serialize,
          deserialize,
          request,
          options.metadata ?? new grpc.Metadata(),
          grpcCallOptions(options),
        );
        linkSignal(call, options.signal);
        return { call, responses: responsesOf(call) };
      };
    case "client_streaming":
      return (options: CallOptions = {}): ClientStreamingCall<DescMessage, DescMessage> => {
        let settle: grpc.requestCallback<Message> = () => undefined;
        const response = new Promise<Message>((resolve, reject) => {
          settle = (error, value) => {
            if (error !== null) reject(error);
            else if (value === undefined) reject(new Error(`${path}: call ended without a response`));
            else resolve(value);
          };
        });
        // A caller that only writes and never awaits must not crash the process with an
        // unhandled rejection; awaiting `response` still sees the error.
        response.catch(() => undefined);
        const requests = channel.makeClientStreamRequest(
          path,
          serialize,
          deserialize,
          options.metadata ?? new grpc.Metadata(),
          grpcCallOptions(options),
          (error, value) => settle(error, value),
        );
        linkSignal(requests, options.signal);
        return { requests, response };
      };
    case "bidi_streaming":
      return (options: CallOptions = {}): BidiStreamingCall<DescMessage, DescMessage> => {
        const requests = channel.makeBidiStreamRequest(
          path,
          serialize,
          deserialize,
          options.metadata ?? new grpc.Metadata(),
          grpcCallOptions(options),
        );
        linkSignal(requests, options.signal);
        return { requests, responses: responsesOf(requests) };
      };
  }
}

function grpcCallOptions(options: CallOptions): grpc.CallOptions {
  return options.deadline === undefined ? {} : { deadline: options.deadline };
}

/** Cancels `call` when `signal` aborts, and forgets the signal once the call has ended. */
function linkSignal(call: grpc.Call, signal: AbortSignal | undefined): void {
  if (signal === undefined) return;
  if (signal.aborted) {
    call.cancel();
    return;
  }
  const cancel = (): void => call.cancel();
  signal.addEventListener("abort", cancel, { once: true });
  call.on("status", () => signal.removeEventListener("abort", cancel));
}

/**
 * The typed responses of a streaming call. grpc-js streams iterate as `any`; this restores the
 * message type, and cancels the call when the consumer stops early so the server stops too.
 */
function responsesOf<T>(
  call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<never, T>,
): AsyncIterable<T> {
  // grpc-js reports a failed call as an 'error' event; the iterator below rethrows it to the
  // reader, and this listener keeps a call nobody iterates from crashing the process.
  call.on("error", () => undefined);
  return {
    async *[Symbol.asyncIterator]() {
      let ended = false;
      try {
        // Not `for await (... of call)`: that destroys a bidi call when responses end, while
        // the caller may still be writing; the call ends by its status or the cancel below.
        for await (const message of call.iterator({ destroyOnReturn: false })) yield message as T;
        ended = true;
      } catch (error) {
        ended = true;
        throw error;
      } finally {
        if (!ended) call.cancel();
      }
    },
  };
}
