import { Task } from "@lit/task";
import { css, html, LitElement, nothing } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { Location, Preferences } from "./api-types.js";
import { timeZones } from "./format.js";
import { toast } from "./pf-toasts.js";
import { pageStyles } from "./shared-styles.js";

/** Largest avatar the collector accepts (256 KiB), checked here first to say so at once. */
export const AVATAR_MAX_BYTES = 256 * 1024;
const AVATAR_TYPES = ["image/png", "image/jpeg"];

/** `detail` of the `preferences-change` event. */
export interface PreferencesChangeDetail {
  readonly preferences: Preferences;
}

/**
 * The user's preferences: theme, time zone, default location, table density, and the avatar
 * (PNG or JPEG up to 256 KiB, previewed before upload).
 *
 * @fires preferences-change - `CustomEvent<PreferencesChangeDetail>` after preferences were
 *   saved (or the avatar changed), so the shell applies them. Bubbles and crosses shadow roots.
 */
@customElement("pf-preferences-page")
export class PfPreferencesPage extends LitElement {
  static override styles = [
    pageStyles,
    css`
      form {
        display: grid;
        gap: 14px;
        max-inline-size: 420px;
      }
      .avatar {
        display: flex;
        align-items: center;
        gap: 16px;
      }
      .avatar img,
      .avatar .empty {
        inline-size: 72px;
        block-size: 72px;
        border-radius: 50%;
        object-fit: cover;
        background: var(--pf-surface-hover, #eef1f5);
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  @state()
  private accessor preview = "";

  @state()
  private accessor avatarError = "";

  @state()
  private accessor saving = false;

  private chosen: File | undefined;
  private currentAvatarUrl = "";

  private readonly loaded = new Task(this, {
    task: async ([api], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const [preferences, locations] = await Promise.all([
        api.request<Preferences>("GET", "/preferences", { signal }),
        api.request<{ locations: Location[] }>("GET", "/locations", { signal }),
      ]);
      URL.revokeObjectURL(this.currentAvatarUrl);
      this.currentAvatarUrl = preferences.has_avatar
        ? URL.createObjectURL(await api.blob("/preferences/avatar", signal))
        : "";
      return { preferences, locations: locations.locations };
    },
    args: () => [this.api] as const,
  });

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    URL.revokeObjectURL(this.preview);
    URL.revokeObjectURL(this.currentAvatarUrl);
  }

  protected override render(): unknown {
    return html`<h1>Preferences</h1>
      <p class="summary">How the dashboard looks and shows times, for you only.</p>
      ${this.loaded.render({
        pending: () => html`<p class="muted">Loading…</p>`,
        complete: ({ preferences, locations }) => this.renderForms(preferences, locations),
        error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
      })}`;
  }

  private renderForms(p: Preferences, locations: readonly Location[]): unknown {
    const image = this.preview || this.currentAvatarUrl;
    return html`<section class="panel" aria-labelledby="display">
        <h2 id="display">Display</h2>
        <form @submit=${this.save}>
          <label>
            Theme
            <select name="theme">
              ${["system", "light", "dark"].map((t) => html`<option value=${t} ?selected=${p.theme === t}>${t}</option>`)}
            </select>
          </label>
          <label>
            Time zone
            <input name="time_zone" list="zones" .value=${p.time_zone} required />
            <datalist id="zones">${timeZones().map((zone) => html`<option value=${zone}></option>`)}</datalist>
          </label>
          <label>
            Default location
            <select name="default_location">
              <option value="" ?selected=${p.default_location === null}>All locations</option>
              ${locations.map(
                (l) =>
                  html`<option value=${l.name} ?selected=${p.default_location === l.name}>${l.name}</option>`,
              )}
            </select>
          </label>
          <label>
            Table density
            <select name="table_density">
              ${["comfortable", "compact"].map(
                (d) => html`<option value=${d} ?selected=${p.table_density === d}>${d}</option>`,
              )}
            </select>
          </label>
          <div><button class="primary" type="submit" ?disabled=${this.saving}>Save preferences</button></div>
        </form>
      </section>
      <section class="panel" aria-labelledby="avatar">
        <h2 id="avatar">Avatar</h2>
        <div class="avatar">
          ${image === "" ? html`<span class="empty" aria-hidden="true"></span>` : html`<img src=${image} alt="Avatar preview" />`}
          <div>
            <label>
              PNG or JPEG, up to 256 KB
              <input type="file" name="avatar" accept="image/png,image/jpeg" @change=${this.choose} />
            </label>
            ${this.avatarError === "" ? nothing : html`<p class="notice error" role="alert">${this.avatarError}</p>`}
            <p><button type="button" ?disabled=${this.chosen === undefined || this.saving} @click=${this.upload}>Upload avatar</button></p>
          </div>
        </div>
      </section>`;
  }

  private async save(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const api = this.api;
    if (api === undefined) return;
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const location = String(data.get("default_location") ?? "");
    this.saving = true;
    try {
      const preferences = await api.request<Preferences>("PUT", "/preferences", {
        body: {
          theme: data.get("theme"),
          time_zone: String(data.get("time_zone") ?? "").trim(),
          default_location: location === "" ? null : location,
          table_density: data.get("table_density"),
        },
      });
      this.changed(preferences);
      toast(this, "success", "Preferences saved.");
    } catch (error) {
      toast(this, "error", errorMessage(error));
    } finally {
      this.saving = false;
    }
  }

  private choose(event: Event): void {
    const file = (event.target as HTMLInputElement).files?.[0];
    URL.revokeObjectURL(this.preview);
    this.preview = "";
    this.chosen = undefined;
    this.avatarError = "";
    if (file === undefined) return;
    if (!AVATAR_TYPES.includes(file.type)) {
      this.avatarError = "Choose a PNG or JPEG image.";
    } else if (file.size > AVATAR_MAX_BYTES) {
      this.avatarError = `That image is ${Math.ceil(file.size / 1024)} KB; the limit is 256 KB.`;
    } else {
      this.chosen = file;
      this.preview = URL.createObjectURL(file);
    }
    this.requestUpdate();
  }

  private async upload(): Promise<void> {
    const api = this.api;
    const file = this.chosen;
    if (api === undefined || file === undefined) return;
    this.saving = true;
    try {
      await api.request("PUT", "/preferences/avatar", { raw: { data: file, type: file.type } });
      this.chosen = undefined;
      toast(this, "success", "Avatar updated.");
      const preferences = await api.request<Preferences>("GET", "/preferences");
      this.changed(preferences);
    } catch (error) {
      this.avatarError = errorMessage(error);
    } finally {
      this.saving = false;
    }
  }

  private changed(preferences: Preferences): void {
    this.dispatchEvent(
      new CustomEvent<PreferencesChangeDetail>("preferences-change", {
        detail: { preferences },
        bubbles: true,
        composed: true,
      }),
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-preferences-page": PfPreferencesPage;
  }
  interface HTMLElementEventMap {
    "preferences-change": CustomEvent<PreferencesChangeDetail>;
  }
}
