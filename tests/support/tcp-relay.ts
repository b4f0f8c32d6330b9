/**
 * A TCP relay between the collector and an agent, so a test can hold a stream mid-way (stop
 * forwarding the agent's bytes after a count) and then break things for real: kill the agent
 * process, restart the collector, cancel the job. It forwards bytes as they are; nothing is
 * parsed or answered on anyone's behalf. Advertise its address as the agent's
 * (`advertiseAddress`) and the collector dials through it.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** A running relay. */
export interface TcpRelay {
  /** 127.0.0.1:PORT to dial instead of the target. */
  readonly address: string;
  /** Bytes forwarded from the target so far, over all connections. */
  downstreamBytes(): number;
  /**
   * Forwards at most `bytes` more from the target, then holds the rest (the target's sends
   * back up through TCP and gRPC flow control); `resume()` lets them through. Returns the count
   * forwarded so far, so a test can wait until the hold is reached.
   */
  holdAfter(bytes: number): number;
  resume(): void;
  /** Closes every relayed connection (both sides) without closing the listener. */
  cutAll(): void;
  close(): Promise<void>;
}

/** Starts a relay to `target` (host:port). */
export async function startTcpRelay(target: string): Promise<TcpRelay> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(":")),
    Number(target.slice(target.lastIndexOf(":") + 1)),
  ];
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let forwarded = 0;
  let allowance = Number.POSITIVE_INFINITY;
  const held: Array<() => void> = [];

  const pump = (from: Socket, to: Socket, counted: boolean): void => {
    from.on("data", (chunk: Buffer) => {
      if (!counted) {
        if (!to.write(chunk)) from.pause();
        return;
      }
      const send = (data: Buffer): void => {
        const room = allowance - forwarded;
        if (room <= 0) {
          from.pause();
          held.push(() => {
            from.resume();
            send(data);
          });
          return;
        }
        const part = data.length <= room ? data : data.subarray(0, room);
        forwarded += part.length;
        if (!to.write(part)) from.pause();
        if (part.length < data.length) send(data.subarray(part.length));
      };
      send(chunk);
    });
    to.on("drain", () => {
      if (allowance - forwarded > 0) from.resume();
    });
    from.on("end", () => to.end());
    from.on("error", () => to.destroy());
    from.on("close", () => to.destroy());
  };

  const server: Server = createServer((client) => {
    const upstream = connect({ host, port });
    const pair = { client, upstream };
    pairs.add(pair);
    client.on("close", () => pairs.delete(pair));
    pump(client, upstream, false);
    pump(upstream, client, true);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("relay: no address");
  const cutAll = (): void => {
    for (const { client, upstream } of pairs) {
      client.destroy();
      upstream.destroy();
    }
    held.length = 0;
  };
  return {
    address: `127.0.0.1:${address.port}`,
    downstreamBytes: () => forwarded,
    holdAfter(bytes) {
      allowance = forwarded + bytes;
      return forwarded;
    },
    resume() {
      allowance = Number.POSITIVE_INFINITY;
      for (const release of held.splice(0)) release();
    },
    cutAll,
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
