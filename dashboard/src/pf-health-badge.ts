import { Task } from "@lit/task";
import { css, html, LitElement, type PropertyValues } from "lit";
import { customElement, property, state } from "lit/decorators.js";

/** What the badge knows about the collector. */
export const HealthStatus = {
  /** No answer yet. */
  checking: "checking",
  /** `GET /api/v1/health` answered 2xx with `{"status": "ok"}`. */
  ok: "ok",
  /** It answered 2xx, but with a status other than `ok`. */
  degraded: "degraded",
  /** Network error, timeout, a non-2xx answer or a body that is not JSON. */
  unreachable: "unreachable",
} as const;

/** One of {@link HealthStatus}'s values. */
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

/** `detail` of the `health-change` event. */
export interface HealthChangeDetail {
  /** The status the badge now shows. */
  readonly status: HealthStatus;
}

/** How often the badge asks the collector, unless `interval` says otherwise. */
export const HEALTH_INTERVAL_MS = 15_000;

// A collector that accepts the connection but never answers is as good as unreachable; without a
// bound the badge would keep showing the last (maybe "ok") answer until the next check.
const PROBE_TIMEOUT_MS = 5_000;

const LABELS = {
  checking: "checking collector…",
  ok: "collector ok",
  degraded: "collector degraded",
  unreachable: "collector unreachable",
} as const satisfies Record<HealthStatus, string>;

/**
 * Asks the collector for its health. Throws only when `signal` aborts (the run was superseded
 * or the element went away), so the task drops the run instead of showing it.
 */
async function probe(apiBase: string, signal: AbortSignal): Promise<HealthStatus> {
  const url = `${apiBase.replace(/\/+$/, "")}/api/v1/health`;
  try {
    const response = await fetch(url, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]),
      headers: { accept: "application/json" },
      cache: "no-store",
    });
    if (!response.ok) return HealthStatus.unreachable;
    const body: unknown = await response.json();
    const reportsOk = typeof body === "object" && body !== null && "status" in body && body.status === "ok";
    return reportsOk ? HealthStatus.ok : HealthStatus.degraded;
  } catch (error) {
    if (signal.aborted) throw error;
    return HealthStatus.unreachable;
  }
}

/**
 * Shows whether the collector answers: a coloured dot and a short label. Checks
 * `GET {apiBase}/api/v1/health` when connected and then every `interval` milliseconds.
 *
 * The label changes only when the status does (not to "checking" on every refresh), so screen
 * readers hear each change once through the live region.
 *
 * @fires health-change - `CustomEvent<HealthChangeDetail>` when the status changes, including
 *   the first answer. Bubbles and crosses shadow roots.
 * @cssprop --pf-ok - Dot colour when the collector is healthy.
 * @cssprop --pf-warn - Dot colour while checking or degraded.
 * @cssprop --pf-danger - Dot colour when unreachable.
 */
@customElement("pf-health-badge")
export class PfHealthBadge extends LitElement {
  static override styles = css`
    :host {
      display: inline-block;
      font: 500 12.5px / 1 var(--pf-font, system-ui, sans-serif);
      color: var(--pf-text-muted, #5a6676);
    }
    .badge {
      display: inline-flex;
      align-items: center;
      gap: 8px;
      padding: 6px 11px;
      border: 1px solid var(--pf-border, #dde3ea);
      border-radius: 999px;
      background: var(--pf-surface, #fff);
      white-space: nowrap;
    }
    .dot {
      --dot: var(--pf-warn, #b7791f);
      inline-size: 8px;
      block-size: 8px;
      border-radius: 50%;
      background: var(--dot);
      box-shadow: 0 0 0 3px color-mix(in srgb, var(--dot) 22%, transparent);
    }
    [data-status="ok"] .dot {
      --dot: var(--pf-ok, #17924d);
    }
    [data-status="unreachable"] .dot {
      --dot: var(--pf-danger, #cf3434);
    }
    [data-status="unreachable"] {
      color: var(--pf-danger, #cf3434);
    }
  `;

  /**
   * Where the collector API lives: an origin, optionally with a path prefix. Empty (the
   * default) means the origin that served the page.
   */
  @property({ attribute: "api-base" })
  accessor apiBase = "";

  /** Milliseconds between checks. */
  @property({ type: Number })
  accessor interval = HEALTH_INTERVAL_MS;

  @state()
  private accessor current: HealthStatus = HealthStatus.checking;

  private timer: number | undefined;

  private readonly health = new Task(this, {
    task: ([apiBase], { signal }) => probe(apiBase, signal),
    args: () => [this.apiBase] as const,
    onComplete: (status) => this.show(status),
  });

  /** The status the badge shows. */
  get status(): HealthStatus {
    return this.current;
  }

  /** Checks the collector now, without waiting for the next interval. */
  refresh(): Promise<void> {
    return this.health.run();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Reconnected after a move in the DOM: the task will not re-run on its own (same args).
    if (this.hasUpdated) void this.refresh();
    this.schedule();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearInterval(this.timer);
    this.timer = undefined;
    this.health.abort();
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has("interval") && this.isConnected) this.schedule();
  }

  protected override render(): unknown {
    return html`<span class="badge" role="status" aria-live="polite" data-status=${this.current}>
      <span class="dot" aria-hidden="true"></span>
      <span class="label">${LABELS[this.current]}</span>
    </span>`;
  }

  private schedule(): void {
    window.clearInterval(this.timer);
    const every = Number.isFinite(this.interval) ? Math.max(1_000, this.interval) : HEALTH_INTERVAL_MS;
    this.timer = window.setInterval(() => void this.refresh(), every);
  }

  private show(status: HealthStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.dispatchEvent(
      new CustomEvent<HealthChangeDetail>("health-change", {
        detail: { status },
        bubbles: true,
        composed: true,
      }),
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-health-badge": PfHealthBadge;
  }
  interface HTMLElementEventMap {
    "health-change": CustomEvent<HealthChangeDetail>;
  }
}
