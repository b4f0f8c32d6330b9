/**
 * Connections to the agents, kept while the collector runs: a job fanning out to the same
 * sensors again reuses the open HTTP/2 connections instead of paying a handshake per task.
 * Per address, a grpc-js channel for the small calls (`Estimate`) and a node:http2 connection
 * for `Slice`, whose bytes are read without grpc-js putting each message back together
 * (proto's slice-client.ts, ADR 0020).
 */

import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  CaptureService,
  type ClientTls,
  createChannel,
  createClient,
  type SliceCall,
  type SliceCallOptions,
  SliceConnections,
  type SliceRequestSchema,
  type TypedClient,
} from "@pcapfleet/proto";

/** Channels to agents by address. */
export interface AgentClients {
  /** The grpc-js client of the agent at `address` (host:port). */
  get(address: string): TypedClient<typeof CaptureService>;
  /** Starts `Slice(request)` on the agent at `address`. */
  slice(
    address: string,
    request: MessageInitShape<typeof SliceRequestSchema>,
    options: SliceCallOptions,
  ): SliceCall;
  /** Closes every channel and connection. */
  close(): void;
  /** True when the channels are TLS. */
  readonly secure: boolean;
}

/**
 * Creates an empty {@link AgentClients}; with `tls` (proto's `clientTls`) every connection is
 * TLS, presenting the collector's certificate and verifying the agent's. Plaintext when absent.
 */
export function createAgentClients(tls?: ClientTls): AgentClients {
  const channels = new Map<
    string,
    { channel: ReturnType<typeof createChannel>; client: TypedClient<typeof CaptureService> }
  >();
  const slices = new SliceConnections(tls?.pem);
  return {
    get(address) {
      let entry = channels.get(address);
      if (entry === undefined) {
        const channel = createChannel(address, tls?.credentials, {
          // A sensor that went away must fail fast, not hang the task until the idle timeout.
          "grpc.initial_reconnect_backoff_ms": 500,
          "grpc.max_reconnect_backoff_ms": 5_000,
        });
        entry = { channel, client: createClient(CaptureService, channel) };
        channels.set(address, entry);
      }
      return entry.client;
    },
    slice: (address, request, options) => slices.slice(address, request, options),
    close() {
      for (const { channel } of channels.values()) channel.close();
      channels.clear();
      slices.close();
    },
    secure: tls !== undefined,
  };
}
