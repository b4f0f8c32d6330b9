import { css, html, LitElement, nothing } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { NetworkLocation } from "./network-types.js";
import type { PfConfirmDialog } from "./pf-confirm-dialog.js";
import { toast } from "./pf-toasts.js";
import { pageStyles } from "./shared-styles.js";
import "./pf-confirm-dialog.js";

/** A coordinate field: empty clears it (null); otherwise a number. */
function coordinate(value: FormDataEntryValue | null): number | null {
  const text = String(value ?? "").trim();
  return text === "" ? null : Number(text);
}

/**
 * The admin controls of the Network page: create, edit and delete locations (description,
 * coordinates, site metadata as JSON), add and remove manual subnet entries, and clear the
 * lookup cache of every collector. Deletions and the cache clear ask for confirmation; results
 * and refusals are toasts.
 *
 * @fires network-change - after any change, so the page fetches the map again.
 */
@customElement("pf-network-admin")
export class PfNetworkAdmin extends LitElement {
  static override styles = [
    pageStyles,
    css`
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 12px;
        margin-block-end: 16px;
      }
      textarea {
        min-inline-size: 220px;
        font-family: var(--pf-font-mono, monospace);
        font-size: 12.5px;
      }
      td button {
        min-block-size: 28px;
        padding: 2px 10px;
        font-size: 12.5px;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** The locations, with their map entries. */
  @property({ attribute: false })
  accessor locations: readonly NetworkLocation[] = [];

  /** Name of the location being edited; empty for a new one. */
  @state()
  private accessor editing = "";

  @query("pf-confirm-dialog")
  private accessor confirmDialog: PfConfirmDialog | null = null;

  protected override render(): unknown {
    const current = this.locations.find((l) => l.name === this.editing);
    const manual = this.locations.flatMap((l) => l.subnets.filter((s) => s.source === "manual"));
    return html`<section class="panel" aria-labelledby="admin-locations">
        <h2 id="admin-locations">Manage locations</h2>
        <form @submit=${this.saveLocation}>
          <label>
            Location to edit
            <select
              @change=${(e: Event) => {
                this.editing = (e.target as HTMLSelectElement).value;
              }}
            >
              <option value="" ?selected=${this.editing === ""}>New location</option>
              ${this.locations.map((l) => html`<option value=${l.name} ?selected=${l.name === this.editing}>${l.name}</option>`)}
            </select>
          </label>
          ${current === undefined ? html`<label>Name <input name="name" required autocomplete="off" /></label>` : nothing}
          <label>Description <input name="description" .value=${current?.description ?? ""} /></label>
          <label>Latitude <input name="latitude" type="number" min="-90" max="90" step="any" .value=${current?.latitude?.toString() ?? ""} /></label>
          <label>Longitude <input name="longitude" type="number" min="-180" max="180" step="any" .value=${current?.longitude?.toString() ?? ""} /></label>
          <label>Metadata (JSON) <textarea name="metadata" rows="2" .value=${JSON.stringify(current?.metadata ?? {})}></textarea></label>
          <button class="primary" type="submit">${current === undefined ? "Create location" : "Save location"}</button>
          ${current === undefined ? nothing : html`<button class="danger" type="button" @click=${() => this.deleteLocation(current.name)}>Delete location</button>`}
        </form>
      </section>
      <section class="panel" aria-labelledby="admin-subnets">
        <h2 id="admin-subnets">Manual subnet entries</h2>
        <form @submit=${this.addEntry}>
          <label>Prefix <input name="prefix" required placeholder="10.20.0.0/16" autocomplete="off" /></label>
          <label>
            Location for the prefix
            <select name="location" required>
              ${this.locations.map((l) => html`<option value=${l.name}>${l.name}</option>`)}
            </select>
          </label>
          <label>Note <input name="description" /></label>
          <button class="primary" type="submit">Add entry</button>
          <button type="button" @click=${this.clearCache}>Clear lookup cache</button>
        </form>
        ${
          manual.length === 0
            ? html`<p class="muted">No manual entries.</p>`
            : html`<table aria-label="Manual entries">
              <thead><tr><th>Prefix</th><th>Location</th><th>Note</th><th></th></tr></thead>
              <tbody>
                ${manual.map(
                  (e) => html`<tr data-prefix=${e.prefix}>
                    <td class="mono">${e.prefix}</td>
                    <td>${e.location}</td>
                    <td>${e.description}</td>
                    <td><button type="button" class="danger" @click=${() => this.removeEntry(e.prefix, e.location)}>Remove</button></td>
                  </tr>`,
                )}
              </tbody>
            </table>`
        }
      </section>
      <pf-confirm-dialog></pf-confirm-dialog>`;
  }

  /** Runs a change; toasts `done` or the refusal; tells the page to reload. */
  private async change(what: () => Promise<unknown>, done: string): Promise<boolean> {
    try {
      await what();
      toast(this, "success", done);
      this.dispatchEvent(new CustomEvent("network-change", { bubbles: true, composed: true }));
      return true;
    } catch (error) {
      toast(this, "error", errorMessage(error));
      return false;
    }
  }

  private async saveLocation(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const api = this.api;
    if (api === undefined) return;
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    let metadata: unknown;
    try {
      metadata = JSON.parse(String(data.get("metadata") ?? "{}").trim() || "{}");
    } catch {
      toast(this, "error", "Metadata must be a JSON object.");
      return;
    }
    const body = {
      description: String(data.get("description") ?? ""),
      latitude: coordinate(data.get("latitude")),
      longitude: coordinate(data.get("longitude")),
      metadata,
    };
    const editing = this.editing;
    if (editing === "") {
      const name = String(data.get("name") ?? "").trim();
      const ok = await this.change(
        () => api.request("POST", "/network/locations", { body: { name, ...body } }),
        `Location ${name} created.`,
      );
      if (ok) form.reset();
    } else {
      await this.change(
        () => api.request("PATCH", `/network/locations/${encodeURIComponent(editing)}`, { body }),
        `Location ${editing} saved.`,
      );
    }
  }

  private async deleteLocation(name: string): Promise<void> {
    const api = this.api;
    const confirmed = await this.confirmDialog?.ask({
      title: `Delete location ${name}?`,
      message:
        "Its manual and learned subnet entries go with it. A location a sensor reports cannot be deleted.",
      confirmLabel: "Delete",
      danger: true,
    });
    if (api === undefined || confirmed === null || confirmed === undefined) return;
    const ok = await this.change(
      () => api.request("DELETE", `/network/locations/${encodeURIComponent(name)}`),
      `Location ${name} deleted.`,
    );
    if (ok) this.editing = "";
  }

  private async addEntry(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const api = this.api;
    if (api === undefined) return;
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const prefix = String(data.get("prefix") ?? "").trim();
    const location = String(data.get("location") ?? "");
    const description = String(data.get("description") ?? "");
    const ok = await this.change(
      () => api.request("POST", "/network/subnets", { body: { prefix, location, description } }),
      `${prefix} mapped to ${location}.`,
    );
    if (ok) form.reset();
  }

  private async removeEntry(prefix: string, location: string): Promise<void> {
    const api = this.api;
    const confirmed = await this.confirmDialog?.ask({
      title: `Remove ${prefix}?`,
      message: `The manual entry mapping ${prefix} to ${location} goes; learned entries may take its place.`,
      confirmLabel: "Remove",
      danger: true,
    });
    if (api === undefined || confirmed === null || confirmed === undefined) return;
    const query = new URLSearchParams({ prefix, location });
    await this.change(() => api.request("DELETE", `/network/subnets?${query}`), `${prefix} unmapped.`);
  }

  private async clearCache(): Promise<void> {
    const api = this.api;
    const confirmed = await this.confirmDialog?.ask({
      title: "Clear the lookup cache?",
      message: "Every collector drops its cached address lookups; the next lookups read the map again.",
      confirmLabel: "Clear cache",
    });
    if (api === undefined || confirmed === null || confirmed === undefined) return;
    await this.change(() => api.request("POST", "/network/locations/clear-cache"), "Lookup cache cleared.");
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-network-admin": PfNetworkAdmin;
  }
  interface HTMLElementEventMap {
    "network-change": CustomEvent<void>;
  }
}
