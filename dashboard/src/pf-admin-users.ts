import { Task } from "@lit/task";
import { css, html, LitElement } from "lit";
import { customElement, property, query } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import { ROLES, type Role, type User } from "./api-types.js";
import { formatTime } from "./format.js";
import type { PfConfirmDialog } from "./pf-confirm-dialog.js";
import { toast } from "./pf-toasts.js";
import { pageStyles } from "./shared-styles.js";
import "./pf-confirm-dialog.js";

/**
 * User administration: the list with role, source, state and last login; create a local user;
 * change a role, reset a password, disable or enable, delete. Every change that can lock
 * someone out asks for confirmation first; results and refusals (last admin, taken name) are
 * shown as toasts.
 */
@customElement("pf-admin-users")
export class PfAdminUsers extends LitElement {
  static override styles = [
    pageStyles,
    css`
      form.create {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 12px;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 6px;
      }
      .actions button {
        min-block-size: 28px;
        padding: 2px 10px;
        font-size: 12.5px;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  /** The logged-in admin (cannot delete or demote themself from here by accident). */
  @property()
  accessor self = "";

  @query("pf-confirm-dialog")
  private accessor confirmDialog: PfConfirmDialog | null = null;

  private readonly users = new Task(this, {
    task: async ([api], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      return (await api.request<{ users: User[] }>("GET", "/admin/users", { signal })).users;
    },
    args: () => [this.api] as const,
  });

  protected override render(): unknown {
    return html`<section class="panel" aria-labelledby="new-user">
        <h2 id="new-user">Add a user</h2>
        <form class="create" @submit=${this.create}>
          <label>Username <input name="username" required autocomplete="off" /></label>
          <label>Password <input name="password" type="password" minlength="8" required autocomplete="new-password" /></label>
          <label>
            Role
            <select name="role">
              ${ROLES.map((role) => html`<option value=${role} ?selected=${role === "viewer"}>${role}</option>`)}
            </select>
          </label>
          <button class="primary" type="submit">Create user</button>
        </form>
      </section>
      <section class="panel" aria-labelledby="user-list">
        <h2 id="user-list">Users</h2>
        ${this.users.render({
          pending: () => html`<p class="muted">Loading…</p>`,
          complete: (users) => this.renderUsers(users),
          error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
        })}
      </section>
      <pf-confirm-dialog></pf-confirm-dialog>`;
  }

  private renderUsers(users: readonly User[]): unknown {
    return html`<div class="scroll"><table aria-label="Users">
      <thead>
        <tr><th>Username</th><th>Role</th><th>Source</th><th>State</th><th>Last login</th><th>Actions</th></tr>
      </thead>
      <tbody>
        ${users.map(
          (user) => html`<tr data-user=${user.username}>
            <td>${user.username}</td>
            <td>
              <select
                aria-label="Role of ${user.username}"
                @change=${(e: Event) => this.changeRole(user, e.target as HTMLSelectElement)}
              >
                ${ROLES.map((role) => html`<option value=${role} ?selected=${role === user.role}>${role}</option>`)}
              </select>
            </td>
            <td>${user.source}</td>
            <td>
              <span class="pill" data-status=${user.disabled ? "disabled" : "ok"}>${user.disabled ? "disabled" : "active"}</span>
            </td>
            <td>${user.last_login_at === null ? html`<span class="muted">never</span>` : formatTime(user.last_login_at, this.timeZone)}</td>
            <td>
              <div class="actions">
                ${
                  user.source === "local"
                    ? html`<button type="button" @click=${() => this.resetPassword(user)}>Reset password</button>`
                    : ""
                }
                <button type="button" @click=${() => this.toggleDisabled(user)}>${user.disabled ? "Enable" : "Disable"}</button>
                <button type="button" class="danger" ?disabled=${user.username === this.self} @click=${() => this.deleteUser(user)}>
                  Delete
                </button>
              </div>
            </td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  /** Runs one change, reports it, and reloads the list (also after a refusal: it may be stale). */
  private async change(what: () => Promise<unknown>, success: string): Promise<boolean> {
    try {
      await what();
      toast(this, "success", success);
      return true;
    } catch (error) {
      toast(this, "error", errorMessage(error));
      return false;
    } finally {
      void this.users.run();
    }
  }

  private async create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const api = this.api;
    if (api === undefined) return;
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const username = String(data.get("username") ?? "").trim();
    const body = { username, password: String(data.get("password") ?? ""), role: data.get("role") };
    if (await this.change(() => api.request("POST", "/admin/users", { body }), `User ${username} created.`)) {
      form.reset();
    }
  }

  private async changeRole(user: User, select: HTMLSelectElement): Promise<void> {
    const api = this.api;
    const role = select.value as Role;
    if (api === undefined || role === user.role) return;
    const answer = await this.confirmDialog?.ask({
      title: `Change the role of ${user.username}?`,
      message: `${user.username} becomes ${role}. Their open sessions end and they log in again.`,
      confirmLabel: "Change role",
    });
    if (answer === null || answer === undefined) {
      select.value = user.role;
      return;
    }
    const path = `/admin/users/${encodeURIComponent(user.username)}`;
    await this.change(
      () => api.request("PATCH", path, { body: { role } }),
      `${user.username} is now ${role}.`,
    );
  }

  private async resetPassword(user: User): Promise<void> {
    const api = this.api;
    if (api === undefined) return;
    const password = await this.confirmDialog?.ask({
      title: `Reset the password of ${user.username}?`,
      message: "Their open sessions end; give them the new password.",
      confirmLabel: "Reset password",
      input: { label: "New password (8 characters or more)", type: "password", minLength: 8 },
    });
    if (password === null || password === undefined) return;
    const path = `/admin/users/${encodeURIComponent(user.username)}`;
    await this.change(
      () => api.request("PATCH", path, { body: { password } }),
      `Password of ${user.username} reset.`,
    );
  }

  private async toggleDisabled(user: User): Promise<void> {
    const api = this.api;
    if (api === undefined) return;
    const disabled = !user.disabled;
    if (disabled) {
      const answer = await this.confirmDialog?.ask({
        title: `Disable ${user.username}?`,
        message: `${user.username} is logged out at once and cannot log in until enabled again.`,
        confirmLabel: "Disable",
        danger: true,
      });
      if (answer === null || answer === undefined) return;
    }
    const path = `/admin/users/${encodeURIComponent(user.username)}`;
    await this.change(
      () => api.request("PATCH", path, { body: { disabled } }),
      `${user.username} ${disabled ? "disabled" : "enabled"}.`,
    );
  }

  private async deleteUser(user: User): Promise<void> {
    const api = this.api;
    if (api === undefined) return;
    const answer = await this.confirmDialog?.ask({
      title: `Delete ${user.username}?`,
      message: "The account and its sessions are removed. This cannot be undone.",
      confirmLabel: "Delete",
      danger: true,
    });
    if (answer === null || answer === undefined) return;
    const path = `/admin/users/${encodeURIComponent(user.username)}`;
    await this.change(() => api.request("DELETE", path), `${user.username} deleted.`);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-admin-users": PfAdminUsers;
  }
}
