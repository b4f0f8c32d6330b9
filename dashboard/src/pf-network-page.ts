import { Task } from "@lit/task";
import { css, html, LitElement, nothing } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { SessionUser } from "./api-types.js";
import { formatBytes, formatTime } from "./format.js";
import { chartStyles, trafficChart } from "./network-chart.js";
import {
  type ActiveSubnet,
  type Bucket,
  isWindowId,
  type NetworkLocation,
  type NetworkTraffic,
  type TopSubnet,
  type TrafficPoint,
  WINDOWS,
  type WindowId,
  windowParams,
} from "./network-types.js";
import { pageStyles } from "./shared-styles.js";
import "./pf-network-admin.js";
import "./pf-network-lookup.js";
import "./pf-network-map.js";

const failed = (error: unknown) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`;

/**
 * The Network section: a map of the locations (dots by traffic and sensor status, lines by
 * traffic between them) over a chosen window, traffic over time by the chosen bucket, the top
 * subnets, the active subnets with a text filter, and an IP lookup. Admins also manage
 * locations, manual subnet entries and the lookup cache (pf-network-admin).
 */
@customElement("pf-network-page")
export class PfNetworkPage extends LitElement {
  static override styles = [
    pageStyles,
    chartStyles,
    css`
      .columns {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(360px, 1fr));
        gap: 0 20px;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** The logged-in user: admins get the management controls. */
  @property({ attribute: false })
  accessor user: SessionUser | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  /** The window shown, ending now. */
  @state()
  private accessor window: WindowId = "24h";

  /** Resolution of the traffic-over-time chart (one the window allows). */
  @state()
  private accessor bucket: Bucket = "hour";

  /** Text the subnets table is filtered by (prefix, location or source). */
  @state()
  private accessor filter = "";

  /** Bumped to fetch everything again (Refresh, or a change made here). */
  @state()
  private accessor revision = 0;

  private readonly overview = new Task(this, {
    task: async ([api, window], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const params = windowParams(window, Date.now());
      const [locations, traffic] = await Promise.all([
        api.request<{ locations: NetworkLocation[] }>("GET", `/network/locations?${params}`, { signal }),
        api.request<NetworkTraffic>("GET", `/network/traffic?${params}&bucket=hour`, { signal }),
      ]);
      return { locations: locations.locations, traffic };
    },
    args: () => [this.api, this.window, this.revision] as const,
  });

  private readonly series = new Task(this, {
    task: async ([api, window, bucket], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const params = windowParams(window, Date.now());
      params.set("bucket", bucket);
      return api.request<{ series: TrafficPoint[] }>(
        "GET",
        `/network/analytics/traffic-over-time?${params}`,
        {
          signal,
        },
      );
    },
    args: () => [this.api, this.window, this.bucket, this.revision] as const,
  });

  private readonly subnets = new Task(this, {
    task: async ([api, window], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const params = windowParams(window, Date.now());
      const [top, active] = await Promise.all([
        api.request<{ subnets: TopSubnet[] }>("GET", `/network/analytics/top-subnets?${params}`, { signal }),
        api.request<{ subnets: ActiveSubnet[]; truncated: boolean }>("GET", `/network/subnets?${params}`, {
          signal,
        }),
      ]);
      return { top: top.subnets, active: active.subnets, truncated: active.truncated };
    },
    args: () => [this.api, this.window, this.revision] as const,
  });

  protected override render(): unknown {
    const buckets: readonly Bucket[] = WINDOWS[this.window].buckets;
    return html`
      <h1 id="page-title">Network</h1>
      <p class="summary">Locations, subnets and the traffic each sensor sees.</p>
      <div class="toolbar">
        <label>
          Window
          <select @change=${this.onWindow}>
            ${Object.entries(WINDOWS).map(([id, w]) => html`<option value=${id} ?selected=${id === this.window}>${w.label}</option>`)}
          </select>
        </label>
        <label>
          Bucket
          <select
            @change=${(e: Event) => {
              this.bucket = (e.target as HTMLSelectElement).value as Bucket;
            }}
          >
            ${buckets.map((b) => html`<option value=${b} ?selected=${b === this.bucket}>${b}</option>`)}
          </select>
        </label>
        <button type="button" @click=${() => this.revision++}>Refresh</button>
      </div>
      <section class="panel" aria-labelledby="map-title">
        <h2 id="map-title">Map</h2>
        ${this.overview.render({
          pending: () => html`<p class="muted">Loading the map…</p>`,
          complete: ({ locations, traffic }) => html`<pf-network-map
            .locations=${locations}
            .flows=${traffic.flows}
            .volumes=${new Map(traffic.locations.map((l) => [l.location, l]))}
          ></pf-network-map>`,
          error: failed,
        })}
      </section>
      <section class="panel" aria-labelledby="chart-title">
        <h2 id="chart-title">Traffic over time (by ${this.bucket})</h2>
        ${this.series.render({
          pending: () => html`<p class="muted">Loading…</p>`,
          complete: ({ series }) =>
            series.length === 0
              ? html`<p class="muted">No traffic in this window.</p>`
              : trafficChart(series, this.timeZone),
          error: failed,
        })}
      </section>
      ${this.subnets.render({
        pending: () => html`<p class="muted">Loading subnets…</p>`,
        complete: ({ top, active, truncated }) => this.renderSubnets(top, active, truncated),
        error: failed,
      })}
      <section class="panel" aria-labelledby="lookup-title">
        <h2 id="lookup-title">IP lookup</h2>
        <pf-network-lookup .api=${this.api}></pf-network-lookup>
      </section>
      ${
        this.user?.role === "admin"
          ? html`<pf-network-admin
              .api=${this.api}
              .locations=${this.overview.value?.locations ?? []}
              @network-change=${() => this.revision++}
            ></pf-network-admin>`
          : nothing
      }
    `;
  }

  private onWindow(event: Event): void {
    const value = (event.target as HTMLSelectElement).value;
    if (!isWindowId(value)) return;
    this.window = value;
    const allowed: readonly Bucket[] = WINDOWS[value].buckets;
    if (!allowed.includes(this.bucket)) this.bucket = allowed[0] ?? "hour";
  }

  private renderSubnets(
    top: readonly TopSubnet[],
    active: readonly ActiveSubnet[],
    truncated: boolean,
  ): unknown {
    const needle = this.filter.trim().toLowerCase();
    const rows = active.filter(
      (s) =>
        needle === "" ||
        s.prefix.toLowerCase().includes(needle) ||
        s.locations.some((l) => l.toLowerCase().includes(needle)) ||
        (s.source ?? "unmapped").includes(needle),
    );
    const where = (locations: readonly string[]) => (locations.length === 0 ? "—" : locations.join(", "));
    return html`<div class="columns">
      <section class="panel" aria-labelledby="top-title">
        <h2 id="top-title">Top subnets</h2>
        ${
          top.length === 0
            ? html`<p class="muted">No traffic in this window.</p>`
            : html`<table aria-label="Top subnets">
              <thead><tr><th>Prefix</th><th>Location</th><th class="num">Bytes</th></tr></thead>
              <tbody>
                ${top.map((s) => html`<tr data-prefix=${s.prefix}><td class="mono">${s.prefix}</td><td>${where(s.locations)}</td><td class="num">${formatBytes(s.bytes)}</td></tr>`)}
              </tbody>
            </table>`
        }
      </section>
      <section class="panel" aria-labelledby="subnets-title">
        <h2 id="subnets-title">Subnets</h2>
        <div class="toolbar">
          <label>Filter subnets <input type="search" .value=${this.filter} @input=${(e: Event) => {
            this.filter = (e.target as HTMLInputElement).value;
          }} placeholder="prefix, location or source" /></label>
          <span class="muted">${rows.length} of ${active.length}${truncated ? " (more not shown)" : ""}</span>
        </div>
        <div class="scroll">
          <table aria-label="Subnets">
            <thead>
              <tr><th>CIDR</th><th>Location</th><th>Source</th><th>Last seen</th><th class="num">Sent</th><th class="num">Received</th></tr>
            </thead>
            <tbody>
              ${rows.map(
                (s) => html`<tr data-prefix=${s.prefix}>
                  <td class="mono">${s.prefix}</td>
                  <td>${where(s.locations)}</td>
                  <td>${s.source ?? "unmapped"}</td>
                  <td>${formatTime(s.last_seen, this.timeZone)}</td>
                  <td class="num">${formatBytes(s.bytes_sent)}</td>
                  <td class="num">${formatBytes(s.bytes_received)}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>
      </section>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-network-page": PfNetworkPage;
  }
}
