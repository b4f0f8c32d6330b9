import { Task } from "@lit/task";
import { css, html, LitElement } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { LogLine } from "./api-types.js";
import { formatTime } from "./format.js";
import { pageStyles } from "./shared-styles.js";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
/** How often auto-refresh asks again. */
export const LOG_REFRESH_MS = 5_000;
// Fields every line has, not worth repeating in the details column.
const BASE_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "name"]);

/**
 * The collector's recent log lines (its in-memory ring), newest last, with a minimum level, a
 * text filter and auto-refresh.
 */
@customElement("pf-admin-logs")
export class PfAdminLogs extends LitElement {
  static override styles = [
    pageStyles,
    css`
      td.msg {
        white-space: pre-wrap;
        word-break: break-word;
      }
      .pill[data-level="warn"] {
        color: var(--pf-warn, #b7791f);
      }
      .pill[data-level="error"],
      .pill[data-level="fatal"] {
        color: var(--pf-danger, #cf3434);
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  /** Minimum level shown. */
  @property()
  accessor level = "info";

  /** Text the lines must contain (case-insensitive); empty for all. */
  @property()
  accessor text = "";

  /** Whether the list refreshes every {@link LOG_REFRESH_MS}. */
  @property({ type: Boolean, attribute: "auto-refresh" })
  accessor autoRefresh = false;

  @state()
  private accessor revision = 0;

  private timer: number | undefined;

  private readonly lines = new Task(this, {
    task: async ([api, level, text], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const query = new URLSearchParams({ level, limit: "500" });
      if (text.trim() !== "") query.set("contains", text.trim());
      return (await api.request<{ lines: LogLine[] }>("GET", `/admin/logs?${query}`, { signal })).lines;
    },
    args: () => [this.api, this.level, this.text, this.revision] as const,
  });

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.clearInterval(this.timer);
    this.timer = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.schedule();
  }

  protected override updated(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.autoRefresh && this.isConnected && this.timer === undefined) {
      this.timer = window.setInterval(() => {
        this.revision += 1;
      }, LOG_REFRESH_MS);
    } else if (!this.autoRefresh && this.timer !== undefined) {
      window.clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  protected override render(): unknown {
    return html`<section class="panel" aria-labelledby="logs">
      <h2 id="logs">Collector log</h2>
      <div class="toolbar">
        <label>
          Minimum level
          <select @change=${(e: Event) => {
            this.level = (e.target as HTMLSelectElement).value;
          }}>
            ${LEVELS.map((l) => html`<option value=${l} ?selected=${l === this.level}>${l}</option>`)}
          </select>
        </label>
        <label>
          Contains
          <input type="search" .value=${this.text} @change=${(e: Event) => {
            this.text = (e.target as HTMLInputElement).value;
          }} />
        </label>
        <label class="check">
          <input type="checkbox" .checked=${this.autoRefresh} @change=${(e: Event) => {
            this.autoRefresh = (e.target as HTMLInputElement).checked;
          }} />
          Auto-refresh
        </label>
        <button type="button" @click=${() => {
          this.revision += 1;
        }}>Refresh</button>
      </div>
      ${this.lines.render({
        pending: () => html`<p class="muted">Loading…</p>`,
        complete: (lines) => this.renderLines(lines),
        error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
      })}
    </section>`;
  }

  private renderLines(lines: readonly LogLine[]): unknown {
    if (lines.length === 0) return html`<p class="muted">No log lines match.</p>`;
    return html`<div class="scroll"><table aria-label="Log lines">
      <thead><tr><th>Time</th><th>Level</th><th>Message</th><th>Details</th></tr></thead>
      <tbody>
        ${lines.map((line) => {
          const details = Object.entries(line).filter(([key]) => !BASE_FIELDS.has(key));
          return html`<tr>
            <td class="mono">${formatTime(line.time, this.timeZone)}</td>
            <td><span class="pill" data-level=${line.level}>${line.level}</span></td>
            <td class="msg">${line.msg}</td>
            <td class="mono muted">${details.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(" ")}</td>
          </tr>`;
        })}
      </tbody>
    </table></div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-admin-logs": PfAdminLogs;
  }
}
