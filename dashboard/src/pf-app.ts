import { html, LitElement, nothing, type PropertyValues, type SVGTemplateResult, svg } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { type ApiClient, createApiClient, errorMessage, type Session } from "./api-client.js";
import type { Preferences } from "./api-types.js";
import { logo } from "./brand.js";
import { adminTabOf } from "./pf-admin-page.js";
import { appStyles } from "./pf-app-styles.js";
import type { PfToasts } from "./pf-toasts.js";
import { toast } from "./pf-toasts.js";
import { isTheme, Theme, themeTokens } from "./theme.js";
import "./pf-admin-page.js";
import "./pf-health-badge.js";
import "./pf-jobs-detail.js";
import "./pf-jobs-new.js";
import "./pf-jobs-page.js";
import "./pf-login-page.js";
import "./pf-network-page.js";
import "./pf-preferences-page.js";
import "./pf-sensor-detail.js";
import "./pf-sensors-page.js";
import "./pf-toasts.js";

/** The dashboard's sections in the navigation; `#/<section>` in the URL selects one. */
export const Section = {
  sensors: "sensors",
  jobs: "jobs",
  network: "network",
  admin: "admin",
} as const;

/** One of {@link Section}'s values. */
export type Section = (typeof Section)[keyof typeof Section];

/** Where the page is: a section (or the preferences page) and the path segments after it. */
export interface Route {
  readonly page: Section | "preferences";
  readonly rest: readonly string[];
}

/** Nav label and one-line summary of each section; key order is nav order. */
const SECTIONS = {
  sensors: { label: "Sensors", summary: "Capture sensors, their health, storage and devices." },
  jobs: { label: "Jobs", summary: "Packet retrieval jobs: submit, follow and download results." },
  network: { label: "Network", summary: "Locations, subnets and the traffic each sensor sees." },
  admin: { label: "Admin", summary: "Users, system status, storage and the audit log." },
} as const satisfies Record<Section, { readonly label: string; readonly summary: string }>;

const SECTION_IDS: readonly Section[] = Object.values(Section);

/**
 * The route a location hash selects: `#/jobs/42` is Jobs with `["42"]`, `#/preferences` the
 * preferences page. Anything else, including no hash, is Sensors, the landing section.
 */
export function routeFromHash(hash: string): Route {
  const [path = ""] = hash.replace(/^#\/?/, "").split("?", 1);
  const [first = "", ...rest] = path.split("/").map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  if (first === "preferences") return { page: "preferences", rest };
  const section = SECTION_IDS.find((id) => id === first);
  return section === undefined ? { page: Section.sensors, rest: [] } : { page: section, rest };
}

/** The section of a location hash (the preferences page belongs to none: Sensors). */
export function sectionFromHash(hash: string): Section {
  const { page } = routeFromHash(hash);
  return page === "preferences" ? Section.sensors : page;
}

/** Theme the toggle button switches to from each theme. */
const NEXT_THEME: Readonly<Record<Theme, Theme>> = {
  system: Theme.light,
  light: Theme.dark,
  dark: Theme.system,
};

const THEME_ICONS: Readonly<Record<Theme, SVGTemplateResult>> = {
  system: svg`<rect x="3" y="4" width="18" height="12" rx="2"/><path d="M8 20h8M12 16v4"/>`,
  light: svg`<circle cx="12" cy="12" r="4"/><path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"/>`,
  dark: svg`<path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5Z"/>`,
};

/** `detail` of the `theme-change` event. */
export interface ThemeChangeDetail {
  /** The theme the user picked. */
  readonly theme: Theme;
}

/**
 * The application: the login page until there is a session; then the header (product name,
 * role-aware section navigation, collector status, theme switch, the user with role and a link to
 * preferences, logout), the page of the current hash route, and toast notifications.
 *
 * The session lives in sessionStorage (one tab, survives reloads); when the collector refuses to
 * refresh it, the page returns to login with a message. Preferences (theme, time zone, default
 * location, table density) load after login and apply at once.
 *
 * Carries the design tokens (`--pf-…` custom properties, see theme.ts) for everything inside it.
 *
 * @fires theme-change - `CustomEvent<ThemeChangeDetail>` when the user switches the theme with
 *   the header button (not when `theme` is set from outside). Bubbles and crosses shadow roots.
 */
@customElement("pf-app")
export class PfApp extends LitElement {
  static override styles = [themeTokens, appStyles];

  /** Colour theme; `system` follows the operating system's light/dark preference. */
  @property({ reflect: true })
  accessor theme: Theme = Theme.system;

  /** Table density of the pages (`comfortable` or `compact`), from the preferences. */
  @property({ reflect: true })
  accessor density = "comfortable";

  /**
   * Where the collector API lives: an origin, optionally with a path prefix. Empty (the
   * default) means the origin that served the page.
   */
  @property({ attribute: "api-base" })
  accessor apiBase = "";

  @state()
  private accessor route: Route = { page: Section.sensors, rest: [] };

  @state()
  private accessor session: Session | null = null;

  @state()
  private accessor loginMessage = "";

  @state()
  private accessor preferences: Preferences | null = null;

  @state()
  private accessor avatarUrl = "";

  @query("pf-toasts")
  private accessor toasts: PfToasts | null = null;

  private api: ApiClient | undefined;

  private readonly onHashChange = (): void => {
    this.route = routeFromHash(window.location.hash);
  };

  constructor() {
    super();
    this.addEventListener("pf-toast", (event) => this.toasts?.show(event.detail));
    this.addEventListener("login", (event) => this.start(event.detail.session));
    this.addEventListener("preferences-change", (event) => void this.apply(event.detail.preferences));
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener("hashchange", this.onHashChange);
    this.onHashChange();
    this.api ??= createApiClient({
      base: this.apiBase,
      storage: window.sessionStorage,
      onSessionEnd: (message) => this.end(message),
    });
    if (this.api.session !== null && this.session === null) this.start(this.api.session);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener("hashchange", this.onHashChange);
  }

  protected override updated(changed: PropertyValues): void {
    // The shell owns the document, so the tab and history entries name the page.
    if (changed.has("route") || changed.has("session")) {
      const label =
        this.session === null
          ? "Log in"
          : this.route.page === "preferences"
            ? "Preferences"
            : SECTIONS[this.route.page].label;
      document.title = `${label} · pcapfleet`;
    }
  }

  private start(session: Session): void {
    this.session = session;
    this.loginMessage = "";
    void this.loadPreferences();
  }

  private end(message: string): void {
    this.session = null;
    this.preferences = null;
    this.loginMessage = message;
    URL.revokeObjectURL(this.avatarUrl);
    this.avatarUrl = "";
  }

  private async loadPreferences(): Promise<void> {
    try {
      await this.apply(await this.requireApi().request<Preferences>("GET", "/preferences"));
    } catch (error) {
      if (this.session !== null) toast(this, "error", `Preferences: ${errorMessage(error)}`);
    }
  }

  private async apply(preferences: Preferences): Promise<void> {
    const hadAvatar = this.preferences?.has_avatar === true;
    const first = this.preferences === null;
    this.preferences = preferences;
    this.theme = isTheme(preferences.theme) ? preferences.theme : Theme.system;
    this.density = preferences.table_density;
    if (preferences.has_avatar && (first || !hadAvatar || this.route.page === "preferences")) {
      try {
        const blob = await this.requireApi().blob("/preferences/avatar");
        URL.revokeObjectURL(this.avatarUrl);
        this.avatarUrl = URL.createObjectURL(blob);
      } catch {
        // The header falls back to the initial; the preferences page shows the real error.
      }
    }
  }

  private requireApi(): ApiClient {
    if (this.api === undefined) throw new Error("pf-app is not connected");
    return this.api;
  }

  protected override render(): unknown {
    if (this.session === null || this.api === undefined) {
      return html`<pf-login-page .api=${this.api} .message=${this.loginMessage}></pf-login-page>
        <pf-toasts></pf-toasts>`;
    }
    const user = this.session.user;
    const theme = isTheme(this.theme) ? this.theme : Theme.system;
    const visible = SECTION_IDS.filter((id) => id !== Section.admin || user.role === "admin");
    return html`
      <header>
        <div class="brand">
          ${logo}
          <span>pcapfleet</span>
        </div>
        <nav aria-label="Sections">
          <ul>
            ${visible.map(
              (id) =>
                html`<li>
                  <a href="#/${id}" aria-current=${id === this.route.page ? "page" : nothing}>${SECTIONS[id].label}</a>
                </li>`,
            )}
          </ul>
        </nav>
        <div class="tools">
          <pf-health-badge .apiBase=${this.apiBase}></pf-health-badge>
          <button
            class="theme"
            type="button"
            aria-label="Colour theme: ${theme}. Switch to ${NEXT_THEME[theme]}"
            title="Theme: ${theme}"
            @click=${this.switchTheme}
          >
            <svg viewBox="0 0 24 24" aria-hidden="true">${THEME_ICONS[theme]}</svg>
          </button>
          <a class="user" href="#/preferences" title="Preferences" aria-label="${user.username} (${user.role}): preferences">
            ${
              this.avatarUrl === ""
                ? html`<span class="initial" aria-hidden="true">${user.username.slice(0, 1).toUpperCase()}</span>`
                : html`<img src=${this.avatarUrl} alt="" />`
            }
            <span class="name">${user.username}</span>
            <span class="role">${user.role}</span>
          </a>
          <button class="logout" type="button" @click=${this.logout}>Log out</button>
        </div>
      </header>
      <main>${this.renderPage()}</main>
      <pf-toasts></pf-toasts>
    `;
  }

  private renderPage(): unknown {
    const api = this.api;
    const timeZone = this.preferences?.time_zone ?? "UTC";
    const { page, rest } = this.route;
    switch (page) {
      case "preferences":
        return html`<pf-preferences-page .api=${api}></pf-preferences-page>`;
      case Section.sensors:
        return rest[0] === undefined || rest[0] === ""
          ? html`<pf-sensors-page
              .api=${api}
              .timeZone=${timeZone}
              .location=${this.preferences?.default_location ?? ""}
            ></pf-sensors-page>`
          : html`<pf-sensor-detail .api=${api} .sensor=${rest[0]} .timeZone=${timeZone}></pf-sensor-detail>`;
      case Section.jobs:
        return this.renderJobs(rest[0] ?? "", timeZone);
      case Section.network:
        return html`<pf-network-page .api=${api} .user=${this.session?.user} .timeZone=${timeZone}></pf-network-page>`;
      case Section.admin:
        return html`<pf-admin-page
          .api=${api}
          .tab=${adminTabOf(rest[0])}
          .timeZone=${timeZone}
          .username=${this.session?.user.username ?? ""}
        ></pf-admin-page>`;
    }
  }

  /** `#/jobs` the list, `#/jobs/new` the form, `#/jobs/{id}` one job. */
  private renderJobs(id: string, timeZone: string): unknown {
    const user = this.session?.user;
    if (id === "")
      return html`<pf-jobs-page .api=${this.api} .user=${user} .timeZone=${timeZone}></pf-jobs-page>`;
    if (id === "new")
      return html`<pf-jobs-new .api=${this.api} .user=${user} .timeZone=${timeZone}></pf-jobs-new>`;
    return html`<pf-jobs-detail .api=${this.api} .user=${user} .jobId=${id} .timeZone=${timeZone}></pf-jobs-detail>`;
  }

  private async logout(): Promise<void> {
    await this.api?.logout();
    this.end("You have logged out.");
  }

  private async switchTheme(): Promise<void> {
    this.theme = NEXT_THEME[isTheme(this.theme) ? this.theme : Theme.system];
    this.dispatchEvent(
      new CustomEvent<ThemeChangeDetail>("theme-change", {
        detail: { theme: this.theme },
        bubbles: true,
        composed: true,
      }),
    );
    // The header switch is a preference too: the next login starts with it.
    try {
      this.preferences = await this.requireApi().request<Preferences>("PUT", "/preferences", {
        body: { theme: this.theme },
      });
    } catch (error) {
      toast(this, "error", `Theme not saved: ${errorMessage(error)}`);
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-app": PfApp;
  }
  interface HTMLElementEventMap {
    "theme-change": CustomEvent<ThemeChangeDetail>;
  }
}
