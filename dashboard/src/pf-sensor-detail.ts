import { Task } from "@lit/task";
import { css, html, LitElement, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { Device, SensorActivity, SensorReport, SensorStatusReport } from "./api-types.js";
import {
  formatAge,
  formatBytes,
  formatCount,
  formatDuration,
  formatHours,
  formatPercent,
  formatTime,
} from "./format.js";
import { pageStyles } from "./shared-styles.js";

/** Status changes fetched to find this sensor's recent ones (the API lists the whole fleet's). */
const ACTIVITY_SCAN = 500;
/** Status changes shown. */
const ACTIVITY_SHOWN = 20;

interface Detail {
  readonly status: SensorStatusReport;
  readonly devices: readonly Device[];
  readonly activity: readonly SensorActivity[];
}

/**
 * One sensor: identity and health, its stores with availability (PCAP span, retention, disk),
 * network devices with their counters, capture statistics, busy tasks, and recent status changes.
 */
@customElement("pf-sensor-detail")
export class PfSensorDetail extends LitElement {
  static override styles = [
    pageStyles,
    css`
      .back {
        display: inline-block;
        margin-block-end: 8px;
        text-decoration: none;
      }
      .title {
        display: flex;
        align-items: center;
        gap: 12px;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(320px, 1fr));
        gap: 0 20px;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** The sensor's name. */
  @property()
  accessor sensor = "";

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  private readonly detail = new Task(this, {
    task: async ([api, sensor], { signal }): Promise<Detail> => {
      if (api === undefined || sensor === "") throw new Error("no sensor selected");
      const path = `/sensors/${encodeURIComponent(sensor)}`;
      const [status, devices, activity] = await Promise.all([
        api.request<SensorStatusReport>("GET", `${path}/status`, { signal }),
        api.request<{ devices: Device[] }>("GET", `${path}/devices`, { signal }),
        api.request<{ activity: SensorActivity[] }>("GET", `/sensors/activity?limit=${ACTIVITY_SCAN}`, {
          signal,
        }),
      ]);
      return {
        status,
        devices: devices.devices,
        activity: activity.activity.filter((change) => change.sensor === sensor).slice(0, ACTIVITY_SHOWN),
      };
    },
    args: () => [this.api, this.sensor] as const,
  });

  protected override render(): unknown {
    return html`<a class="back" href="#/sensors">← All sensors</a>
      ${this.detail.render({
        pending: () => html`<h1>${this.sensor}</h1><p class="muted">Loading…</p>`,
        complete: (detail) => this.renderDetail(detail),
        error: (error) =>
          html`<h1>${this.sensor}</h1><p class="notice error" role="alert">${errorMessage(error)}</p>`,
      })}`;
  }

  private renderDetail({ status, devices, activity }: Detail): unknown {
    const report: SensorReport = status.last_status ?? {};
    const tz = this.timeZone;
    return html`
      <div class="title">
        <h1>${status.name}</h1>
        <span class="pill" data-status=${status.status}>${status.status}</span>
      </div>
      <p class="summary">
        ${status.location} · ${status.hostname} · agent ${status.version} at
        <span class="mono">${status.agent_address}</span>
      </p>
      ${
        status.status_reasons.length === 0
          ? nothing
          : html`<div class="notice" role="note">
            <strong>Why ${status.status}:</strong> ${status.status_reasons.join("; ")}
          </div>`
      }
      <div class="grid">
        <section class="panel" aria-labelledby="health">
          <h2 id="health">Health</h2>
          <dl>
            <dt>Last heartbeat</dt>
            <dd>${formatAge(status.last_heartbeat_at, Date.now())} (${formatTime(status.last_heartbeat_at, tz)})</dd>
            <dt>Heartbeat interval</dt>
            <dd>${formatDuration(status.heartbeat_interval_s)}</dd>
            <dt>First seen</dt>
            <dd>${formatTime(status.first_seen_at, tz)}</dd>
            <dt>CPU</dt>
            <dd>${formatPercent(status.cpu_percent)}</dd>
            <dt>Memory</dt>
            <dd>
              ${formatPercent(status.memory_percent)}
              ${report.health ? html`of ${formatBytes(report.health.memory_total_bytes)}` : nothing}
            </dd>
            <dt>Load (1 min)</dt>
            <dd>${report.health?.load_1m?.toFixed(2) ?? "—"}</dd>
            <dt>Agent uptime</dt>
            <dd>${report.health ? formatDuration(report.health.agent_uptime_seconds) : "—"}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="stores">
          <h2 id="stores">Stores</h2>
          ${
            (report.stores ?? []).length === 0
              ? html`<p class="muted">No stores reported.</p>`
              : html`<div class="scroll"><table aria-label="Stores">
                <thead><tr><th>Path</th><th>State</th><th>Available</th><th class="num">Retention</th><th class="num">Disk</th></tr></thead>
                <tbody>
                  ${(report.stores ?? []).map(
                    (store) => html`<tr>
                      <td class="mono">${store.path}</td>
                      <td>
                        <span class="pill" data-status=${store.state === "ok" ? "ok" : "warn"}>${store.state}</span>
                        ${store.error ? html`<div class="muted">${store.error}</div>` : nothing}
                      </td>
                      <td>
                        ${
                          store.pcap === null
                            ? "—"
                            : html`${formatTime(store.pcap.oldest_packet_at, tz)} → ${formatTime(store.pcap.newest_packet_at, tz)}
                              <div class="muted">
                                ${formatBytes(store.pcap.bytes)} in ${formatCount(store.pcap.files)} files ·
                                ${formatBytes(store.pcap.ingest_bytes_per_second)}/s
                              </div>`
                        }
                      </td>
                      <td class="num">${formatHours(store.pcap?.retention_forecast_hours)}</td>
                      <td class="num">${formatPercent(store.disk?.used_percent)}</td>
                    </tr>`,
                  )}
                </tbody>
              </table></div>`
          }
        </section>
      </div>
      ${this.renderDevices(devices)} ${this.renderCapture(report)} ${this.renderTasks(report)}
      ${this.renderActivity(activity)}
    `;
  }

  private renderDevices(devices: readonly Device[]): unknown {
    return html`<section class="panel" aria-labelledby="devices">
      <h2 id="devices">Devices</h2>
      ${
        devices.length === 0
          ? html`<p class="muted">No devices reported.</p>`
          : html`<div class="scroll"><table aria-label="Devices">
            <thead>
              <tr>
                <th>Name</th><th>State</th><th class="num">Speed</th><th class="num">RX</th><th class="num">TX</th>
                <th class="num">RX packets</th><th class="num">TX packets</th><th class="num">Dropped</th>
                <th class="num">Errors</th><th>Capturing</th>
              </tr>
            </thead>
            <tbody>
              ${devices.map(
                (d) => html`<tr data-device=${d.name}>
                  <td class="mono">${d.name}</td>
                  <td><span class="pill" data-status=${d.state}>${d.state}</span></td>
                  <td class="num">${d.speed_mbps > 0 ? `${formatCount(d.speed_mbps)} Mb/s` : "—"}</td>
                  <td class="num">${formatBytes(d.rx_bytes)}</td>
                  <td class="num">${formatBytes(d.tx_bytes)}</td>
                  <td class="num">${formatCount(d.rx_packets)}</td>
                  <td class="num">${formatCount(d.tx_packets)}</td>
                  <td class="num">${formatCount(d.rx_dropped + d.tx_dropped)}</td>
                  <td class="num">${formatCount(d.rx_errors + d.tx_errors)}</td>
                  <td>${d.capturing ? "yes" : "no"}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
      }
    </section>`;
  }

  private renderCapture(report: SensorReport): unknown {
    const capture = report.capture ?? [];
    return html`<section class="panel" aria-labelledby="capture">
      <h2 id="capture">Capture</h2>
      ${
        capture.length === 0
          ? html`<p class="muted">No capture handles reported.</p>`
          : html`<table aria-label="Capture">
            <thead><tr><th>Interface</th><th class="num">Received</th><th class="num">Dropped (kernel)</th><th class="num">Dropped (interface)</th><th class="num">Drop rate</th></tr></thead>
            <tbody>
              ${capture.map((c) => {
                const dropped = c.packets_dropped_kernel + c.packets_dropped_interface;
                const total = c.packets_received + dropped;
                return html`<tr>
                  <td class="mono">${c.interface}</td>
                  <td class="num">${formatCount(c.packets_received)}</td>
                  <td class="num">${formatCount(c.packets_dropped_kernel)}</td>
                  <td class="num">${formatCount(c.packets_dropped_interface)}</td>
                  <td class="num">${total === 0 ? "—" : formatPercent((100 * dropped) / total)}</td>
                </tr>`;
              })}
            </tbody>
          </table>`
      }
    </section>`;
  }

  private renderTasks(report: SensorReport): unknown {
    const tasks = report.busy_tasks ?? [];
    return html`<section class="panel" aria-labelledby="tasks">
      <h2 id="tasks">Busy tasks</h2>
      ${
        tasks.length === 0
          ? html`<p class="muted">Idle: no tasks running.</p>`
          : html`<table aria-label="Busy tasks">
            <thead><tr><th>Task</th><th>Job</th><th>Kind</th><th>Started</th><th class="num">Progress</th><th class="num">Done</th></tr></thead>
            <tbody>
              ${tasks.map(
                (t) => html`<tr>
                  <td class="mono">${t.task_id}</td>
                  <td class="mono">${t.job_id}</td>
                  <td>${t.kind}</td>
                  <td>${formatTime(t.started_at, this.timeZone)}</td>
                  <td class="num">${t.progress === null ? "—" : formatPercent(t.progress * 100)}</td>
                  <td class="num">${formatBytes(t.bytes_done)}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
      }
    </section>`;
  }

  private renderActivity(activity: readonly SensorActivity[]): unknown {
    return html`<section class="panel" aria-labelledby="activity">
      <h2 id="activity">Recent activity</h2>
      ${
        activity.length === 0
          ? html`<p class="muted">No status changes recorded.</p>`
          : html`<table aria-label="Recent activity">
            <thead><tr><th>When</th><th>Change</th><th>Reasons</th></tr></thead>
            <tbody>
              ${activity.map(
                (a) => html`<tr>
                  <td>${formatTime(a.changed_at, this.timeZone)}</td>
                  <td>
                    ${a.previous_status ?? "new"} →
                    <span class="pill" data-status=${a.status}>${a.status}</span>
                  </td>
                  <td class="muted">${a.reasons.join("; ") || "—"}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
      }
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-sensor-detail": PfSensorDetail;
  }
}
