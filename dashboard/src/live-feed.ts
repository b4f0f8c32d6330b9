import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { ApiClient } from "./api-client.js";
import type { RealtimeMessage } from "./api-types.js";
import { type Coalescer, createCoalescer } from "./coalesce.js";
import { FeedState, openSessionFeed, type RealtimeFeed } from "./realtime.js";

/** What a page gives {@link LiveFeed}. */
export interface LiveFeedOptions {
  /** The session's API client; undefined before login. */
  readonly api: () => ApiClient | undefined;
  /** Every event of the feed. */
  readonly onMessage: (message: RealtimeMessage) => void;
  /**
   * Called when the feed is live again after a drop: events sent while the socket was down are
   * lost, so the page looks again at what may have moved.
   */
  readonly onResumed?: () => void;
  /**
   * Batches refetches: keys given to {@link LiveFeed.refetch} within `delayMs` reach `flush`
   * together (see coalesce.ts).
   */
  readonly coalesce?: {
    readonly delayMs: number;
    readonly flush: (keys: ReadonlySet<string>) => Promise<void>;
  };
}

/**
 * The live feed of one page, tied to the element's life: opened once the page's data loaded
 * (the session is good then, and events have rows to update), closed when the element leaves
 * the DOM and opened again if it comes back. `state` drives the page's "Updates:" indicator;
 * the host re-renders on every change of it.
 */
export class LiveFeed implements ReactiveController {
  /** Where the connection stands. */
  state: FeedState = FeedState.closed;

  private feed: RealtimeFeed | undefined;
  private updates: Coalescer | undefined;
  private wanted = false;

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly options: LiveFeedOptions,
  ) {
    host.addController(this);
  }

  /** Opens the feed, now and whenever the element is attached again. */
  open(): void {
    this.wanted = true;
    this.connect();
  }

  /** Queues `key` for the next coalesced refetch. */
  refetch(key: string): void {
    this.updates?.add(key);
  }

  hostConnected(): void {
    // Moved in the DOM after a first load: the page's data task will not run again on its own.
    if (this.wanted) this.connect();
  }

  hostDisconnected(): void {
    this.feed?.close();
    this.feed = undefined;
    this.updates?.close();
    this.updates = undefined;
  }

  private connect(): void {
    const api = this.options.api();
    if (api === undefined || this.feed !== undefined || !this.host.isConnected) return;
    const { coalesce } = this.options;
    if (coalesce !== undefined) this.updates = createCoalescer(coalesce.delayMs, coalesce.flush);
    this.feed = openSessionFeed(api, {
      onState: (next) => {
        const resumed = next === FeedState.live && this.state === FeedState.reconnecting;
        this.state = next;
        this.host.requestUpdate();
        if (resumed) this.options.onResumed?.();
      },
      onMessage: (message) => this.options.onMessage(message),
    });
  }
}
