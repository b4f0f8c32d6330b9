import { Task } from "@lit/task";
import { html, LitElement, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import { formatBytes, formatCount, formatDuration, formatPercent, formatTime } from "./format.js";
import { pageStyles } from "./shared-styles.js";

interface Probe {
  readonly kind: string;
  readonly ok: boolean;
  readonly latency_ms: number;
  readonly error: string | null;
}

/** `GET /admin/system/status` (the fields shown). */
interface SystemStatus {
  readonly version: string;
  readonly started_at: string;
  readonly uptime_s: number;
  readonly process: {
    readonly node_version: string;
    readonly pid: number;
    readonly hostname: string;
    readonly memory: { readonly rss_bytes: number; readonly heap_used_bytes: number };
    readonly cpu: { readonly percent_since_start: number; readonly cores: number };
    readonly host: {
      readonly load_average: readonly number[];
      readonly total_memory_bytes: number;
      readonly free_memory_bytes: number;
    };
  };
  readonly database: Probe & { readonly size_bytes: number | null; readonly server_version: string | null };
  readonly kv: Probe;
  readonly sensors: {
    readonly online: number;
    readonly degraded: number;
    readonly offline: number;
    readonly total: number;
  } | null;
  readonly log_lines: number;
}

/** `GET /admin/storage`. */
interface Storage {
  readonly database: { readonly kind: string; readonly size_bytes: number };
  readonly tables: readonly {
    readonly name: string;
    readonly partitions: number;
    readonly bytes: number;
    readonly index_bytes: number;
    readonly row_estimate: number | null;
    readonly oldest_partition: { readonly from: string } | null;
    readonly newest_partition: { readonly to: string } | null;
  }[];
  readonly data_dir: {
    readonly path: string;
    readonly used_percent: number | null;
    readonly available_bytes: number | null;
    readonly total_bytes: number | null;
    readonly error: string | null;
  };
}

/**
 * The collector that answered (behind a load balancer, one of several): version, uptime,
 * process and host metrics, database and key-value store reachability, and storage per table.
 */
@customElement("pf-admin-system")
export class PfAdminSystem extends LitElement {
  static override styles = pageStyles;

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  private readonly facts = new Task(this, {
    task: async ([api], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const [status, storage] = await Promise.all([
        api.request<SystemStatus>("GET", "/admin/system/status", { signal }),
        api.request<Storage>("GET", "/admin/storage", { signal }),
      ]);
      return { status, storage };
    },
    args: () => [this.api] as const,
  });

  protected override render(): unknown {
    return this.facts.render({
      pending: () => html`<p class="muted">Loading…</p>`,
      complete: ({ status, storage }) => html`${this.renderStatus(status)} ${this.renderStorage(storage)}`,
      error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
    });
  }

  private probe(probe: Probe): unknown {
    return html`<span class="pill" data-status=${probe.ok ? "ok" : "error"}>${probe.ok ? "ok" : "down"}</span>
      ${probe.kind} · ${probe.latency_ms.toFixed(1)} ms ${probe.error === null ? nothing : html`<div class="muted">${probe.error}</div>`}`;
  }

  private renderStatus(s: SystemStatus): unknown {
    const host = s.process.host;
    return html`<section class="panel" aria-labelledby="system">
      <h2 id="system">System status</h2>
      <div class="cards">
        <div class="card"><span class="value">${formatDuration(s.uptime_s)}</span><span class="label">uptime</span></div>
        <div class="card"><span class="value">${formatPercent(s.process.cpu.percent_since_start)}</span><span class="label">CPU since start</span></div>
        <div class="card"><span class="value">${formatBytes(s.process.memory.rss_bytes)}</span><span class="label">memory (RSS)</span></div>
        <div class="card"><span class="value">${s.sensors?.total ?? "—"}</span><span class="label">sensors</span></div>
      </div>
      <dl>
        <dt>Version</dt><dd>${s.version}</dd>
        <dt>Started</dt><dd>${formatTime(s.started_at, this.timeZone)}</dd>
        <dt>Process</dt><dd>${s.process.hostname} pid ${s.process.pid} · Node ${s.process.node_version}</dd>
        <dt>Heap used</dt><dd>${formatBytes(s.process.memory.heap_used_bytes)}</dd>
        <dt>Host</dt>
        <dd>
          load ${host.load_average.map((n) => n.toFixed(2)).join(" ")} · ${s.process.cpu.cores} cores ·
          ${formatBytes(host.free_memory_bytes)} free of ${formatBytes(host.total_memory_bytes)}
        </dd>
        <dt>Database</dt>
        <dd>${this.probe(s.database)} ${s.database.server_version === null ? nothing : html`· PostgreSQL ${s.database.server_version}`} · ${formatBytes(s.database.size_bytes)}</dd>
        <dt>Key-value store</dt><dd>${this.probe(s.kv)}</dd>
        <dt>Sensors</dt>
        <dd>${s.sensors === null ? "—" : `${s.sensors.online} online, ${s.sensors.degraded} degraded, ${s.sensors.offline} offline`}</dd>
        <dt>Log lines held</dt><dd>${formatCount(s.log_lines)}</dd>
      </dl>
    </section>`;
  }

  private renderStorage(st: Storage): unknown {
    const dir = st.data_dir;
    return html`<section class="panel" aria-labelledby="storage">
      <h2 id="storage">Storage</h2>
      <dl>
        <dt>Database</dt><dd>${st.database.kind} · ${formatBytes(st.database.size_bytes)}</dd>
        <dt>Data directory</dt>
        <dd>
          <span class="mono">${dir.path}</span> ·
          ${dir.error === null ? html`${formatPercent(dir.used_percent)} used, ${formatBytes(dir.available_bytes)} available` : dir.error}
        </dd>
      </dl>
      <div class="scroll"><table aria-label="Tables">
        <thead>
          <tr><th>Table</th><th class="num">Rows (est.)</th><th class="num">Size</th><th class="num">Indexes</th><th class="num">Partitions</th><th>Span</th></tr>
        </thead>
        <tbody>
          ${st.tables.map(
            (t) => html`<tr>
              <td class="mono">${t.name}</td>
              <td class="num">${formatCount(t.row_estimate)}</td>
              <td class="num">${formatBytes(t.bytes)}</td>
              <td class="num">${formatBytes(t.index_bytes)}</td>
              <td class="num">${t.partitions || "—"}</td>
              <td>${t.oldest_partition === null ? "—" : `${t.oldest_partition.from.slice(0, 10)} → ${t.newest_partition?.to.slice(0, 10) ?? ""}`}</td>
            </tr>`,
          )}
        </tbody>
      </table></div>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-admin-system": PfAdminSystem;
  }
}
