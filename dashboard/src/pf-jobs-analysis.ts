import { Task } from "@lit/task";
import { css, html, LitElement, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import { formatBytes, formatCount, formatTime } from "./format.js";
import type { JobAnalysis } from "./job-types.js";
import { pageStyles } from "./shared-styles.js";
import "./pf-jobs-protocols.js";
import "./pf-jobs-timeline.js";

/** A column of an analysis table: header, whether numeric, and the cell of a row. */
type Column<T> = readonly [header: string, numeric: boolean, cell: (row: T) => unknown];

const TABLE_TITLES: Readonly<Record<string, string>> = {
  protocol_hierarchy: "Protocol hierarchy",
  top_talkers: "Top talkers",
  conversations: "Conversations",
  top_ports: "Ports",
  dns_queries: "DNS queries",
  tls_sni: "TLS server names",
  http_hosts: "HTTP hosts",
};

/**
 * The analysis of a job's merged result (`GET /jobs/{id}/analysis`): totals, the timeline, the
 * protocol hierarchy, top talkers, conversations, ports, DNS queries, TLS server names and HTTP
 * hosts. Tables that hit the collector's key limit say their counts are lower bounds.
 */
@customElement("pf-jobs-analysis")
export class PfJobsAnalysis extends LitElement {
  static override styles = [
    pageStyles,
    css`
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(300px, 1fr));
        gap: 0 20px;
      }
      td {
        overflow-wrap: anywhere;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** The job whose analysis is shown. */
  @property({ attribute: "job-id" })
  accessor jobId = "";

  /** Changes when the result does (its SHA-256), so the analysis is fetched again. */
  @property()
  accessor revision = "";

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  private readonly analysis = new Task(this, {
    task: ([api, id], { signal }) => {
      if (api === undefined || id === "") throw new Error("no job selected");
      return api.request<JobAnalysis>("GET", `/jobs/${encodeURIComponent(id)}/analysis`, { signal });
    },
    args: () => [this.api, this.jobId, this.revision] as const,
  });

  protected override render(): unknown {
    return this.analysis.render({
      pending: () =>
        html`<section class="panel"><h2>Analysis</h2><p class="muted">Loading the analysis…</p></section>`,
      error: (error) =>
        html`<section class="panel"><h2>Analysis</h2><p class="notice error" role="alert">${errorMessage(error)}</p></section>`,
      complete: (a) => this.renderAnalysis(a),
    });
  }

  private renderAnalysis(a: JobAnalysis): unknown {
    const tz = this.timeZone;
    const truncated = a.truncated_tables ?? [];
    return html`<section aria-labelledby="analysis-title">
      <h2 id="analysis-title">Analysis</h2>
      <section class="cards" aria-label="Analysis totals">
        <div class="card"><span class="value" data-total="packets">${formatCount(a.packets)}</span><span class="label">packets</span></div>
        <div class="card"><span class="value">${formatBytes(a.bytes)}</span><span class="label">on the wire</span></div>
        <div class="card"><span class="value">${formatTime(a.first_packet_at, tz)}</span><span class="label">first packet</span></div>
        <div class="card"><span class="value">${formatTime(a.last_packet_at, tz)}</span><span class="label">last packet</span></div>
        ${a.decode_errors > 0 ? html`<div class="card"><span class="value">${formatCount(a.decode_errors)}</span><span class="label">malformed</span></div>` : nothing}
      </section>
      ${
        truncated.length === 0
          ? nothing
          : html`<p class="notice" role="note">
            Too many distinct keys to count exactly in
            ${truncated.map((t) => TABLE_TITLES[t.table] ?? t.table).join(", ")}: those counts are lower bounds
            (off by at most ${truncated.map((t) => `${formatCount(t.max_error)} ${t.ranked_by}`).join(", ")}).
          </p>`
      }
      <section class="panel" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <pf-jobs-timeline .timeline=${a.timeline} .timeZone=${tz}></pf-jobs-timeline>
      </section>
      <section class="panel" aria-labelledby="protocols-title">
        <h2 id="protocols-title">Protocol hierarchy</h2>
        <pf-jobs-protocols .nodes=${a.protocol_hierarchy} .packets=${a.packets} .bytes=${a.bytes}></pf-jobs-protocols>
      </section>
      ${this.table("Top talkers", a.top_talkers, [
        ["Address", false, (r) => html`<span class="mono">${r.address}</span>`],
        ["Packets", true, (r) => formatCount(r.packets)],
        ["Bytes", true, (r) => formatBytes(r.bytes)],
        ["Sent", true, (r) => formatBytes(r.sent_bytes)],
        ["Received", true, (r) => formatBytes(r.received_bytes)],
      ])}
      ${this.table("Conversations", a.conversations, [
        ["A", false, (r) => html`<span class="mono">${endpoint(r.address_a, r.port_a)}</span>`],
        ["B", false, (r) => html`<span class="mono">${endpoint(r.address_b, r.port_b)}</span>`],
        ["Protocol", false, (r) => r.protocol],
        ["Packets", true, (r) => formatCount(r.packets)],
        ["Bytes", true, (r) => formatBytes(r.bytes)],
        ["A → B", true, (r) => formatBytes(r.a_to_b_bytes)],
        ["B → A", true, (r) => formatBytes(r.b_to_a_bytes)],
        ["First seen", false, (r) => formatTime(r.first_seen, tz)],
        ["Last seen", false, (r) => formatTime(r.last_seen, tz)],
      ])}
      <div class="grid">
        ${this.table("Ports", a.top_ports, [
          ["Port", false, (r) => `${r.transport}/${r.port}`],
          ["Packets", true, (r) => formatCount(r.packets)],
          ["Bytes", true, (r) => formatBytes(r.bytes)],
        ])}
        ${this.table("DNS queries", a.dns_queries, [
          ["Name", false, (r) => html`<span class="mono">${r.name}</span>`],
          ["Type", false, (r) => r.type ?? "—"],
          ["Queries", true, (r) => formatCount(r.count)],
        ])}
        ${this.table("TLS server names", a.tls_sni, [
          ["Server name", false, (r) => html`<span class="mono">${r.server_name}</span>`],
          ["Hellos", true, (r) => formatCount(r.count)],
        ])}
        ${this.table("HTTP hosts", a.http_hosts, [
          ["Host", false, (r) => html`<span class="mono">${r.host}</span>`],
          ["Requests", true, (r) => formatCount(r.count)],
        ])}
      </div>
    </section>`;
  }

  /** One analysis table in its panel; "None seen." when empty. */
  private table<T>(title: string, rows: readonly T[] | undefined, columns: readonly Column<T>[]): unknown {
    const id = `t-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
    return html`<section class="panel" aria-labelledby=${id}>
      <h2 id=${id}>${title}</h2>
      ${
        rows === undefined || rows.length === 0
          ? html`<p class="muted">None seen.</p>`
          : html`<div class="scroll">
            <table aria-label=${title}>
              <thead>
                <tr>${columns.map(([header, numeric]) => html`<th class=${numeric ? "num" : ""}>${header}</th>`)}</tr>
              </thead>
              <tbody>
                ${rows.map(
                  (row) =>
                    html`<tr>${columns.map(([, numeric, cell]) => html`<td class=${numeric ? "num" : ""}>${cell(row)}</td>`)}</tr>`,
                )}
              </tbody>
            </table>
          </div>`
      }
    </section>`;
  }
}

/** `10.0.0.1:443`, `[2001:db8::1]:443`, or the address alone without a port. */
function endpoint(address: string, port: number | null): string {
  if (port === null) return address;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-jobs-analysis": PfJobsAnalysis;
  }
}
