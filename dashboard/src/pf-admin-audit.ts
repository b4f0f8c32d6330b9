import { Task } from "@lit/task";
import { html, LitElement } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { AuditEntry } from "./api-types.js";
import { formatTime } from "./format.js";
import { pageStyles } from "./shared-styles.js";

const PAGE_SIZE = 50;

interface AuditPage {
  readonly entries: readonly AuditEntry[];
  readonly total: number;
  readonly offset: number;
  readonly next_offset: number | null;
}

/** The audit log, newest first, filtered by actor and action, a page at a time. */
@customElement("pf-admin-audit")
export class PfAdminAudit extends LitElement {
  static override styles = pageStyles;

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  @state()
  private accessor actor = "";

  @state()
  private accessor action = "";

  @state()
  private accessor offset = 0;

  private readonly page = new Task(this, {
    task: ([api, actor, action, offset], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
      if (actor !== "") query.set("actor", actor);
      if (action !== "") query.set("action", action);
      return api.request<AuditPage>("GET", `/admin/audit?${query}`, { signal });
    },
    args: () => [this.api, this.actor, this.action, this.offset] as const,
  });

  protected override render(): unknown {
    return html`<section class="panel" aria-labelledby="audit">
      <h2 id="audit">Audit log</h2>
      <form class="toolbar" @submit=${this.filter}>
        <label>Actor <input name="actor" .value=${this.actor} /></label>
        <label>Action <input name="action" .value=${this.action} placeholder="user.create" /></label>
        <button type="submit">Filter</button>
      </form>
      ${this.page.render({
        pending: () => html`<p class="muted">Loading…</p>`,
        complete: (page) => this.renderPage(page),
        error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
      })}
    </section>`;
  }

  private filter(event: SubmitEvent): void {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    this.actor = String(data.get("actor") ?? "").trim();
    this.action = String(data.get("action") ?? "").trim();
    this.offset = 0;
  }

  private renderPage(page: AuditPage): unknown {
    if (page.entries.length === 0) return html`<p class="muted">No entries.</p>`;
    const last = page.offset + page.entries.length;
    return html`<div class="scroll"><table aria-label="Audit entries">
        <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th>Details</th><th>From</th></tr></thead>
        <tbody>
          ${page.entries.map(
            (e) => html`<tr>
              <td>${formatTime(e.at, this.timeZone)}</td>
              <td>${e.actor}</td>
              <td class="mono">${e.action}</td>
              <td>${e.target ?? "—"}</td>
              <td class="mono muted">${Object.keys(e.details).length === 0 ? "—" : JSON.stringify(e.details)}</td>
              <td class="mono">${e.ip ?? "—"}</td>
            </tr>`,
          )}
        </tbody>
      </table></div>
      <div class="toolbar" style="margin-block: 12px 0">
        <span class="muted">${page.offset + 1}–${last} of ${page.total}</span>
        <button type="button" ?disabled=${page.offset === 0} @click=${() => {
          this.offset = Math.max(0, page.offset - PAGE_SIZE);
        }}>Newer</button>
        <button type="button" ?disabled=${page.next_offset === null} @click=${() => {
          this.offset = page.next_offset ?? this.offset;
        }}>Older</button>
      </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-admin-audit": PfAdminAudit;
  }
}
