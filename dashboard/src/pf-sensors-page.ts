import { Task } from "@lit/task";
import { css, html, LitElement, nothing } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { HealthSummary, Location, RealtimeMessage, SensorState, SensorSummary } from "./api-types.js";
import { filterSelect } from "./filter-select.js";
import { formatAge, formatBytes, formatDuration, formatHours, formatPercent, formatTime } from "./format.js";
import { LiveFeed } from "./live-feed.js";
import { FeedState } from "./realtime.js";
import { pageStyles } from "./shared-styles.js";

const STATES: readonly SensorState[] = ["online", "degraded", "offline"];

/** A status the realtime feed announced after the list was fetched. */
interface LiveStatus {
  readonly status: SensorState;
  readonly reasons: readonly string[];
  readonly at: string;
}

/** How often heartbeat ages are re-rendered. */
const TICK_MS = 5_000;

/**
 * The sensor fleet: a summary (`/health/summary`), then one row per sensor with its status and
 * reasons, heartbeat age, PCAP span and retention forecast, disk and CPU. Filters by location and
 * status. Status changes arrive live over the WebSocket (reconnecting with backoff); the live
 * indicator says whether the feed is connected.
 */
@customElement("pf-sensors-page")
export class PfSensorsPage extends LitElement {
  static override styles = [
    pageStyles,
    css`
      .live {
        display: inline-flex;
        align-items: center;
        gap: 6px;
        margin-inline-start: auto;
        font-size: 12.5px;
        color: var(--pf-text-muted, #5a6676);
      }
      .live::before {
        content: "";
        inline-size: 8px;
        block-size: 8px;
        border-radius: 50%;
        background: var(--pf-warn, #b7791f);
      }
      .live[data-state="live"]::before {
        background: var(--pf-ok, #17924d);
      }
      td a {
        font-weight: 600;
        text-decoration: none;
      }
      .span {
        white-space: nowrap;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  /** Location selected in the filter; empty for all. Starts as the user's default location. */
  @property()
  accessor location = "";

  /** Status selected in the filter; empty for all. */
  @property()
  accessor status = "";

  @state()
  private accessor live = new Map<string, LiveStatus>();

  @state()
  private accessor now = Date.now();

  @state()
  private accessor summaryRevision = 0;

  private readonly feed = new LiveFeed(this, {
    api: () => this.api,
    onMessage: (message) => this.onLive(message),
  });
  private ticker: number | undefined;
  private summaryTimer: number | undefined;

  private readonly fleet = new Task(this, {
    task: async ([api], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const [sensors, locations] = await Promise.all([
        api.request<{ sensors: SensorSummary[] }>("GET", "/sensors", { signal }),
        api.request<{ locations: Location[] }>("GET", "/locations", { signal }),
      ]);
      this.live = new Map();
      return { sensors: sensors.sensors, locations: locations.locations };
    },
    args: () => [this.api] as const,
    // The feed opens once the list loaded: the session is good then, and events have rows to update.
    onComplete: () => this.feed.open(),
  });

  private readonly summary = new Task(this, {
    task: ([api], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      return api.request<HealthSummary>("GET", "/health/summary", { signal });
    },
    args: () => [this.api, this.summaryRevision] as const,
  });

  override connectedCallback(): void {
    super.connectedCallback();
    this.ticker = window.setInterval(() => {
      this.now = Date.now();
    }, TICK_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearInterval(this.ticker);
    window.clearTimeout(this.summaryTimer);
  }

  /** Fetches the list and the summary again. */
  reload(): void {
    void this.fleet.run();
    this.summaryRevision += 1;
  }

  private onLive(message: RealtimeMessage): void {
    if (message.type !== "sensor.status") return;
    const live = new Map(this.live);
    live.set(message.sensor, { status: message.status, reasons: message.reasons, at: message.at });
    this.live = live;
    // A burst of changes (a collector restart) refreshes the counts once.
    window.clearTimeout(this.summaryTimer);
    this.summaryTimer = window.setTimeout(() => {
      this.summaryRevision += 1;
    }, 300);
  }

  /** A listed sensor with any newer live status applied. */
  private current(sensor: SensorSummary): SensorSummary {
    const live = this.live.get(sensor.name);
    if (live === undefined || Date.parse(live.at) < Date.parse(sensor.status_changed_at)) return sensor;
    return { ...sensor, status: live.status, status_reasons: live.reasons, status_changed_at: live.at };
  }

  protected override render(): unknown {
    return html`
      <h1 id="page-title">Sensors</h1>
      <p class="summary">Capture sensors, their health, storage and devices.</p>
      ${this.summary.render({
        complete: (summary) => this.renderSummary(summary),
        error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
      })}
      ${this.fleet.render({
        pending: () => html`<p class="muted">Loading sensors…</p>`,
        complete: ({ sensors, locations }) => this.renderFleet(sensors, locations),
        error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
      })}
    `;
  }

  private renderSummary(summary: HealthSummary): unknown {
    const s = summary.sensors;
    return html`<section class="cards" aria-label="Fleet summary">
      <div class="card"><span class="value" data-count="total">${s.total}</span><span class="label">sensors</span></div>
      <div class="card"><span class="value" data-count="online">${s.online}</span><span class="label">online</span></div>
      <div class="card"><span class="value" data-count="degraded">${s.degraded}</span><span class="label">degraded</span></div>
      <div class="card"><span class="value" data-count="offline">${s.offline}</span><span class="label">offline</span></div>
      <div class="card"><span class="value">${summary.locations}</span><span class="label">locations</span></div>
      <div class="card"><span class="value">${formatBytes(summary.pcap.bytes)}</span><span class="label">PCAP held</span></div>
    </section>`;
  }

  private renderFleet(sensors: readonly SensorSummary[], locations: readonly Location[]): unknown {
    const rows = sensors
      .map((sensor) => this.current(sensor))
      .filter((sensor) => this.location === "" || sensor.location === this.location)
      .filter((sensor) => this.status === "" || sensor.status === this.status);
    const feedLabel = this.feed.state === FeedState.live ? "live" : this.feed.state;
    return html`<section class="panel" aria-labelledby="page-title">
      <div class="toolbar">
        ${filterSelect({
          label: "Location",
          anyLabel: "All locations",
          values: locations.map((l) => l.name),
          value: this.location,
          onChange: (value) => {
            this.location = value;
          },
        })}
        ${filterSelect({
          label: "Status",
          anyLabel: "Any status",
          values: STATES,
          value: this.status,
          onChange: (value) => {
            this.status = value;
          },
        })}
        <button type="button" @click=${() => this.reload()}>Refresh</button>
        <span class="live" data-state=${this.feed.state} role="status">Updates: ${feedLabel}</span>
      </div>
      ${
        rows.length === 0
          ? html`<p class="muted">${sensors.length === 0 ? "No sensors have reported yet." : "No sensor matches the filters."}</p>`
          : html`<div class="scroll">
            <table aria-label="Sensors">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Location</th>
                  <th>Status</th>
                  <th>Last heartbeat</th>
                  <th>PCAP span</th>
                  <th class="num">Retention</th>
                  <th class="num">Disk</th>
                  <th class="num">CPU</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map((sensor) => this.renderRow(sensor))}
              </tbody>
            </table>
          </div>`
      }
    </section>`;
  }

  private renderRow(sensor: SensorSummary): unknown {
    const oldest = sensor.pcap_oldest_at;
    const newest = sensor.pcap_newest_at;
    const span = oldest === null || newest === null ? null : (Date.parse(newest) - Date.parse(oldest)) / 1000;
    return html`<tr data-sensor=${sensor.name}>
      <td><a href="#/sensors/${encodeURIComponent(sensor.name)}">${sensor.name}</a></td>
      <td>${sensor.location}</td>
      <td>
        <span class="pill" data-status=${sensor.status}>${sensor.status}</span>
        ${
          sensor.status_reasons.length === 0
            ? nothing
            : html`<ul class="reasons">
              ${sensor.status_reasons.map((reason) => html`<li>${reason}</li>`)}
            </ul>`
        }
      </td>
      <td title=${formatTime(sensor.last_heartbeat_at, this.timeZone)}>${formatAge(sensor.last_heartbeat_at, this.now)}</td>
      <td class="span">
        ${
          span === null
            ? html`<span class="muted">no packets</span>`
            : html`${formatTime(oldest, this.timeZone)} → ${formatTime(newest, this.timeZone)}
              <div class="muted">${formatDuration(span)} · ${formatBytes(sensor.pcap_bytes)}</div>`
        }
      </td>
      <td class="num">${formatHours(sensor.retention_hours)}</td>
      <td class="num">${formatPercent(sensor.disk_used_percent)}</td>
      <td class="num">${formatPercent(sensor.cpu_percent)}</td>
    </tr>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-sensors-page": PfSensorsPage;
  }
}
