import { css, html, LitElement, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import { formatBytes, formatCount, formatTime } from "./format.js";
import { COVERAGE_LABELS, COVERAGE_TONE } from "./job-format.js";
import type { JobEstimate, SensorEstimate } from "./job-types.js";
import { jobStyles } from "./job-ui.js";
import { pageStyles } from "./shared-styles.js";

/**
 * The answer of `POST /jobs/estimate`: per target sensor, why it was chosen, how much of the
 * window its ring covers (covered / partly / aged out / no data), what it holds of the window
 * and the packets and bytes the job would return (exact, or an upper bound when the index
 * could not apply the filter), with the collector's note when a sensor could not be asked.
 */
@customElement("pf-jobs-estimate")
export class PfJobsEstimate extends LitElement {
  static override styles = [
    pageStyles,
    jobStyles,
    css`
      tfoot td {
        font-weight: 600;
        border-block-end: 0;
      }
    `,
  ];

  /** The estimate to show. */
  @property({ attribute: false })
  accessor estimate: JobEstimate | undefined;

  /** The form changed since the estimate was made. */
  @property({ type: Boolean })
  accessor stale = false;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  protected override render(): unknown {
    const e = this.estimate;
    if (e === undefined) return nothing;
    const allExact = e.sensors.every((s) => s.exact);
    return html`<section class="panel" aria-labelledby="estimate-title">
      <h2 id="estimate-title">Estimate</h2>
      ${this.stale ? html`<p class="notice" role="note">The form changed since this estimate; estimate again.</p>` : nothing}
      <p class="muted">
        Filter:
        ${e.effective_filter === "" ? "every packet in the window" : html`<span class="mono">${e.effective_filter}</span>`}
      </p>
      <div class="scroll">
        <table aria-label="Estimate by sensor">
          <thead>
            <tr>
              <th>Sensor</th>
              <th>Coverage</th>
              <th>Ring holds</th>
              <th class="num">Packets</th>
              <th class="num">Bytes</th>
              <th>Notes</th>
            </tr>
          </thead>
          <tbody>
            ${e.sensors.map((s) => this.renderSensor(s))}
          </tbody>
          <tfoot>
            <tr>
              <td colspan="3">Total${allExact ? "" : " (at most)"}</td>
              <td class="num">${formatCount(e.total_packets)}</td>
              <td class="num">${formatBytes(e.total_bytes)}</td>
              <td></td>
            </tr>
          </tfoot>
        </table>
      </div>
    </section>`;
  }

  private renderSensor(s: SensorEstimate): unknown {
    const bound = s.exact || s.packets === null ? "" : "≤ ";
    return html`<tr data-sensor=${s.sensor}>
      <td>
        ${s.sensor} <span class="pill" data-status=${s.status}>${s.status}</span>
        <div class="muted">${s.routed_by}</div>
      </td>
      <td><span class="pill" data-status=${COVERAGE_TONE[s.coverage]}>${COVERAGE_LABELS[s.coverage]}</span></td>
      <td class="nowrap">
        ${
          s.oldest_packet_at === null
            ? html`<span class="muted">no packets</span>`
            : html`${formatTime(s.oldest_packet_at, this.timeZone)} → ${formatTime(s.newest_packet_at, this.timeZone)}`
        }
      </td>
      <td class="num">${s.packets === null ? "—" : `${bound}${formatCount(s.packets)}`}</td>
      <td class="num">${s.bytes === null ? "—" : `${bound}${formatBytes(s.bytes)}`}</td>
      <td class="muted">${s.note ?? (s.exact ? "" : "upper bound: the index cannot apply this filter")}</td>
    </tr>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-jobs-estimate": PfJobsEstimate;
  }
}
