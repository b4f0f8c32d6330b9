/**
 * The realtime hub: one Kv subscription per channel for the whole collector, fanned out to the
 * connected WebSocket clients. A slow or broken client never holds up the others: each gets
 * its own bounded send (see ws-route.ts); the hub only calls listeners.
 */
import type { Logger } from "pino";
import type { Kv, Unsubscribe } from "../kv/index.js";
import { type RealtimeEvent, realtimeChannels } from "./events.js";

/** Receives every event while subscribed. */
export type RealtimeListener = (event: RealtimeEvent) => void;

/** See {@link createRealtimeHub}. */
export interface RealtimeHub {
  /** Adds a listener; returns its removal. */
  subscribe(listener: RealtimeListener): () => void;
  /** Connected listeners (a gauge for /metrics and tests). */
  size(): number;
  /** Ends the Kv subscriptions. */
  close(): Promise<void>;
}

/** Subscribes to the realtime channels; resolves once messages published later are delivered. */
export async function createRealtimeHub(deps: { kv: Kv; log: Logger }): Promise<RealtimeHub> {
  const listeners = new Set<RealtimeListener>();
  const unsubscribes: Unsubscribe[] = [];
  for (const { channel, parse } of realtimeChannels) {
    unsubscribes.push(
      await deps.kv.subscribe(channel, (message) => {
        let event: RealtimeEvent;
        try {
          event = parse(JSON.parse(message));
        } catch (error) {
          deps.log.warn({ err: error, channel }, "ignoring a malformed realtime message");
          return;
        }
        for (const listener of listeners) listener(event);
      }),
    );
  }
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    size: () => listeners.size,
    async close() {
      listeners.clear();
      await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe()));
    },
  };
}
