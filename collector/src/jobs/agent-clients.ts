/**
 * CaptureService clients of the agents, one channel per advertised address, kept while the
 * collector runs: a job fanning out to the same sensors again reuses the open HTTP/2
 * connections instead of paying a handshake per task.
 */
import {
  CaptureService,
  type ChannelCredentials,
  createChannel,
  createClient,
  type TypedClient,
} from "@pcapfleet/proto";

/** Channels to agents by address. */
export interface AgentClients {
  /** The client of the agent at `address` (host:port). */
  get(address: string): TypedClient<typeof CaptureService>;
  /** Closes every channel. */
  close(): void;
  /** True when the channels are TLS. */
  readonly secure: boolean;
}

/**
 * Creates an empty {@link AgentClients}; with `credentials` (proto's `channelCredentials`) every
 * channel is TLS, presenting the collector's certificate and verifying the agent's. Plaintext
 * when absent.
 */
export function createAgentClients(credentials?: ChannelCredentials): AgentClients {
  const channels = new Map<
    string,
    { channel: ReturnType<typeof createChannel>; client: TypedClient<typeof CaptureService> }
  >();
  return {
    get(address) {
      let entry = channels.get(address);
      if (entry === undefined) {
        const channel = createChannel(address, credentials, {
          // A sensor that went away must fail fast, not hang the task until the idle timeout.
          "grpc.initial_reconnect_backoff_ms": 500,
          "grpc.max_reconnect_backoff_ms": 5_000,
        });
        entry = { channel, client: createClient(CaptureService, channel) };
        channels.set(address, entry);
      }
      return entry.client;
    },
    close() {
      for (const { channel } of channels.values()) channel.close();
      channels.clear();
    },
    secure: credentials !== undefined,
  };
}
