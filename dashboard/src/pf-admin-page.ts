import { css, html, LitElement, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { ApiClient } from "./api-client.js";
import { pageStyles } from "./shared-styles.js";
import "./pf-admin-audit.js";
import "./pf-admin-logs.js";
import "./pf-admin-system.js";
import "./pf-admin-users.js";

/** Tabs of the admin page; `#/admin/<tab>` selects one. */
export const AdminTab = {
  users: "users",
  system: "system",
  logs: "logs",
  audit: "audit",
} as const;

/** One of {@link AdminTab}'s values. */
export type AdminTab = (typeof AdminTab)[keyof typeof AdminTab];

const LABELS = {
  users: "Users",
  system: "System & storage",
  logs: "Logs",
  audit: "Audit log",
} as const satisfies Record<AdminTab, string>;

/** The tab a route segment names; users when it names none. */
export function adminTabOf(segment: string | undefined): AdminTab {
  return Object.values(AdminTab).find((tab) => tab === segment) ?? AdminTab.users;
}

/**
 * Administration: users, system status and storage, the collector's log, and the audit log,
 * one tab each (tabs are routes, so each has a URL). The collector decides who may see them: a
 * non-admin who comes here gets its 403, shown in the tab.
 */
@customElement("pf-admin-page")
export class PfAdminPage extends LitElement {
  static override styles = [
    pageStyles,
    css`
      nav ul {
        display: flex;
        flex-wrap: wrap;
        gap: 4px;
        margin: 0 0 18px;
        padding: 0;
        list-style: none;
        border-block-end: 1px solid var(--pf-border, #dde3ea);
      }
      nav a {
        display: block;
        padding: 8px 14px;
        border-block-end: 2px solid transparent;
        color: var(--pf-text-muted, #5a6676);
        font-weight: 500;
        text-decoration: none;
      }
      nav a[aria-current="page"] {
        border-block-end-color: var(--pf-accent, #2558d6);
        color: var(--pf-accent, #2558d6);
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** The selected tab. */
  @property()
  accessor tab: AdminTab = AdminTab.users;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  /** The logged-in user's name. */
  @property()
  accessor username = "";

  protected override render(): unknown {
    return html`<h1>Admin</h1>
      <p class="summary">Users, system status, storage, logs and the audit log.</p>
      <nav aria-label="Admin sections">
        <ul>
          ${Object.values(AdminTab).map(
            (tab) =>
              html`<li><a href="#/admin/${tab}" aria-current=${tab === this.tab ? "page" : nothing}>${LABELS[tab]}</a></li>`,
          )}
        </ul>
      </nav>
      ${this.renderTab()}`;
  }

  private renderTab(): unknown {
    switch (this.tab) {
      case AdminTab.users:
        return html`<pf-admin-users .api=${this.api} .timeZone=${this.timeZone} .self=${this.username}></pf-admin-users>`;
      case AdminTab.system:
        return html`<pf-admin-system .api=${this.api} .timeZone=${this.timeZone}></pf-admin-system>`;
      case AdminTab.logs:
        return html`<pf-admin-logs .api=${this.api} .timeZone=${this.timeZone}></pf-admin-logs>`;
      case AdminTab.audit:
        return html`<pf-admin-audit .api=${this.api} .timeZone=${this.timeZone}></pf-admin-audit>`;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-admin-page": PfAdminPage;
  }
}
