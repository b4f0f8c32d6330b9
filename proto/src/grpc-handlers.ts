/**
 * Typed, promise-based service implementations on top of grpc-js callbacks and streams.
 * A handler returns (or yields) messages and throws AppErrors; this module turns that into
 * grpc-js calls with the right status, honours cancellation through an AbortSignal, and waits
 * for the transport to drain before yielding more, so a slow reader slows the producer instead
 * of filling memory.
 */
import { once } from "node:events";
import type { Readable } from "node:stream";
import type {
  DescMessage,
  DescMethod,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "@pcapfleet/core";
import {
  defaultCodecs,
  type MethodCodecs,
  type MethodOf,
  methodPath,
  toServiceDefinition,
} from "./grpc-adapter.js";
import { toGrpcError } from "./grpc-errors.js";

/** What a handler knows about its call besides the request. */
export interface HandlerContext {
  /** Request metadata (headers). */
  readonly metadata: grpc.Metadata;
  /** Aborted when the caller cancels, the deadline passes or the server force-closes. */
  readonly signal: AbortSignal;
  /** Address of the caller. */
  readonly peer: string;
  /** Logger carrying the method path. */
  readonly log: Logger;
}

/** Handler of a unary method. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/** Handler of a server-streaming method: yields the responses (an async generator fits). */
export type ServerStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/** Handler of a client-streaming method: reads the requests, returns the one response. */
export type ClientStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>>;

/** Handler of a bidi-streaming method: reads requests, yields responses, at its own pace. */
export type BidiStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/** The handler type of one method, chosen by its kind. */
export type MethodHandler<M> =
  M extends MethodOf<"unary", infer I, infer O>
    ? UnaryHandler<I, O>
    : M extends MethodOf<"server_streaming", infer I, infer O>
      ? ServerStreamingHandler<I, O>
      : M extends MethodOf<"client_streaming", infer I, infer O>
        ? ClientStreamingHandler<I, O>
        : M extends MethodOf<"bidi_streaming", infer I, infer O>
          ? BidiStreamingHandler<I, O>
          : never;

/** An implementation of every method of service `S`, keyed by `localName`. */
export type ServiceImpl<S extends DescService> = {
  readonly [K in keyof S["method"]]: MethodHandler<S["method"][K]>;
};

/** A service with its implementation, ready for `createGrpcServer`. */
export interface ServiceBinding {
  /** The service descriptor, also fed to reflection and health. */
  readonly service: DescService;
  /** The grpc-js definition of the service. */
  readonly definition: grpc.ServiceDefinition;
  /** The grpc-js handlers, reporting server faults to `log`. */
  handlers(log: Logger): grpc.UntypedServiceImplementation;
}

/**
 * Pairs a generated service with its typed implementation; `codecs` replace the protobuf-es
 * encoders of the methods they name (default: the package's fast Slice codec).
 */
export function bindService<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  codecs: MethodCodecs = defaultCodecs,
): ServiceBinding {
  // Handlers are looked up by localName at runtime; the mapped type guarantees each exists
  // with the shape its method kind needs, which a runtime loop cannot show TypeScript.
  const byName = impl as unknown as Readonly<Record<string, unknown>>;
  return {
    service,
    definition: toServiceDefinition(service, codecs),
    handlers(log) {
      const handlers: grpc.UntypedServiceImplementation = {};
      for (const method of service.methods) {
        const handler = byName[method.localName];
        if (typeof handler !== "function") {
          throw new TypeError(`${service.typeName}: no handler for ${method.name}`);
        }
        handlers[method.localName] = wrap(method, handler, log.child({ rpc: methodPath(method) }));
      }
      return handlers;
    },
  };
}

type Message = MessageShape<DescMessage>;
type MessageInit = MessageInitShape<DescMessage>;

function wrap(method: DescMethod, handler: unknown, log: Logger): grpc.UntypedHandleCall {
  switch (method.methodKind) {
    case "unary": {
      const fn = handler as UnaryHandler<DescMessage, DescMessage>;
      return (
        call: grpc.ServerUnaryCall<Message, MessageInit>,
        callback: grpc.sendUnaryData<MessageInit>,
      ) => {
        const context = contextOf(call, log);
        // The async wrapper turns a synchronous throw into a rejection, handled like any other.
        (async () => fn(call.request, context))().then(
          (response) => callback(null, response),
          (error: unknown) => callback(failure(error, context)),
        );
      };
    }
    case "server_streaming": {
      const fn = handler as ServerStreamingHandler<DescMessage, DescMessage>;
      return (call: grpc.ServerWritableStream<Message, MessageInit>) => {
        const context = contextOf(call, log);
        void pump(call, () => fn(call.request, context), context);
      };
    }
    case "client_streaming": {
      const fn = handler as ClientStreamingHandler<DescMessage, DescMessage>;
      return (
        call: grpc.ServerReadableStream<Message, MessageInit>,
        callback: grpc.sendUnaryData<MessageInit>,
      ) => {
        const context = contextOf(call, log);
        (async () => fn(requestsOf(call), context))().then(
          (response) => callback(null, response),
          (error: unknown) => callback(failure(error, context)),
        );
      };
    }
    case "bidi_streaming": {
      const fn = handler as BidiStreamingHandler<DescMessage, DescMessage>;
      return (call: grpc.ServerDuplexStream<Message, MessageInit>) => {
        const context = contextOf(call, log);
        void pump(call, () => fn(requestsOf(call), context), context);
      };
    }
  }
}

/**
 * The requests of a client- or bidi-streaming call. Plain `for await` over the call would
 * destroy it when the requests end, before the handler had sent its responses and status.
 */
function requestsOf(call: Readable): AsyncIterable<Message> {
  return call.iterator({ destroyOnReturn: false });
}

/** What every kind of grpc-js server call offers; streams can also be destroyed. */
interface CallSurface {
  readonly metadata: grpc.Metadata;
  getPeer(): string;
  on(event: "cancelled", listener: () => void): unknown;
  destroy?(): unknown;
}

function contextOf(call: CallSurface, log: Logger): HandlerContext {
  const controller = new AbortController();
  call.on("cancelled", () => {
    controller.abort();
    // A handler reading requests would otherwise wait forever for ones that will never come.
    call.destroy?.();
  });
  return { metadata: call.metadata, signal: controller.signal, peer: call.getPeer(), log };
}

/** Writes what `produce` yields to `call`, respecting backpressure, then ends the call. */
async function pump(
  call: grpc.ServerWritableStream<Message, MessageInit> | grpc.ServerDuplexStream<Message, MessageInit>,
  produce: () => AsyncIterable<MessageInit>,
  context: HandlerContext,
): Promise<void> {
  try {
    for await (const response of produce()) {
      // Leaving the loop runs the generator's finally blocks, closing its files.
      if (context.signal.aborted) return;
      if (!call.write(response)) await once(call, "drain", { signal: context.signal });
    }
    call.end();
  } catch (error) {
    if (context.signal.aborted) return;
    // grpc-js turns an 'error' event on a server stream into the call's final status.
    call.emit("error", failure(error, context));
  }
}

function failure(error: unknown, context: HandlerContext): grpc.ServiceError {
  if (context.signal.aborted) {
    // The caller is gone and will not read this; a failure caused by the abort is no fault.
    context.log.debug({ err: error }, "rpc ended after cancellation");
  }
  return toGrpcError(error, context.signal.aborted ? undefined : context.log);
}
