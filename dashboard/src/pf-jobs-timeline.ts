import { css, html, LitElement, nothing, svg } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { formatBytes, formatCount, formatDuration, formatTime } from "./format.js";
import type { Timeline } from "./job-types.js";
import { pageStyles } from "./shared-styles.js";

/** Drawing units of the chart's viewBox; the SVG stretches to the panel's width. */
const WIDTH = 600;
const HEIGHT = 120;

/** What the bars measure. */
type Measure = "packets" | "bytes";

/**
 * A job's timeline as a small inline SVG bar chart (no chart library): one bar per bucket of
 * packets or bytes over the job's window, a tooltip per bar with its time and count, the
 * window's ends and the bucket width below. Up to 600 buckets (the collector's limit), so one
 * `<rect>` each is cheap.
 */
@customElement("pf-jobs-timeline")
export class PfJobsTimeline extends LitElement {
  static override styles = [
    pageStyles,
    css`
      svg {
        display: block;
        inline-size: 100%;
        block-size: 140px;
        border-block-end: 1px solid var(--pf-border, #dde3ea);
      }
      rect {
        fill: var(--pf-accent, #2558d6);
      }
      rect:hover {
        fill: var(--pf-warn, #b7791f);
      }
      .axis {
        display: flex;
        justify-content: space-between;
        gap: 12px;
        margin-block-start: 4px;
        color: var(--pf-text-muted, #5a6676);
        font-size: 12px;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 8px 16px;
        margin-block-end: 8px;
      }
      .switch {
        display: inline-flex;
        gap: 4px;
        margin-inline-start: auto;
      }
      .switch button {
        min-block-size: 26px;
        padding: 1px 10px;
        font-size: 12.5px;
      }
      .switch button[aria-pressed="true"] {
        border-color: var(--pf-accent, #2558d6);
        color: var(--pf-accent, #2558d6);
      }
    `,
  ];

  /** The analysis' timeline. */
  @property({ attribute: false })
  accessor timeline: Timeline | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  @state()
  private accessor measure: Measure = "packets";

  private format(value: number): string {
    return this.measure === "packets" ? `${formatCount(value)} packets` : formatBytes(value);
  }

  protected override render(): unknown {
    const t = this.timeline;
    if (t === undefined || t.packets.length === 0) return html`<p class="muted">No timeline.</p>`;
    const values = t[this.measure];
    const peak = values.reduce((m, v) => Math.max(m, v), 0);
    const slot = WIDTH / values.length;
    const start = Date.parse(t.start);
    const bucket = formatDuration(t.bucket_seconds);
    const label = `${this.measure === "packets" ? "Packets" : "Bytes"} per ${bucket} from ${formatTime(t.start, this.timeZone)} to ${formatTime(t.end, this.timeZone)}; peak ${this.format(peak)}`;
    return html`<div class="head">
        <span class="muted">Peak ${this.format(peak)} per ${bucket}</span>
        ${t.outside_window_packets > 0 ? html`<span class="muted">${formatCount(t.outside_window_packets)} packets outside the window</span>` : nothing}
        <span class="switch" role="group" aria-label="Timeline measure">
          ${(["packets", "bytes"] as const).map(
            (m) =>
              html`<button type="button" aria-pressed=${this.measure === m ? "true" : "false"} @click=${() => {
                this.measure = m;
              }}>${m === "packets" ? "Packets" : "Bytes"}</button>`,
          )}
        </span>
      </div>
      <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="none" role="img" aria-label=${label}>
        ${values.map((value, i) => {
          if (value <= 0 || peak <= 0) return nothing;
          // At least one unit high, so a quiet bucket next to a burst still shows.
          const h = Math.max(1, (value / peak) * HEIGHT);
          const at = formatTime(new Date(start + i * t.bucket_seconds * 1000).toISOString(), this.timeZone);
          return svg`<rect x=${i * slot} y=${HEIGHT - h} width=${Math.max(slot * 0.85, 0.5)} height=${h}><title>${at}: ${this.format(value)}</title></rect>`;
        })}
      </svg>
      <div class="axis">
        <span>${formatTime(t.start, this.timeZone)}</span>
        <span>${values.length} buckets of ${bucket}</span>
        <span>${formatTime(t.end, this.timeZone)}</span>
      </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-jobs-timeline": PfJobsTimeline;
  }
}
