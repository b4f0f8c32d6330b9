import { css, html, LitElement, nothing, type PropertyValues, type SVGTemplateResult, svg } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { isTheme, Theme, themeTokens } from "./theme.js";
import "./pf-health-badge.js";

/** The dashboard's sections; `#/<section>` in the URL selects one. */
export const Section = {
  sensors: "sensors",
  jobs: "jobs",
  network: "network",
  admin: "admin",
} as const;

/** One of {@link Section}'s values. */
export type Section = (typeof Section)[keyof typeof Section];

interface SectionInfo {
  readonly label: string;
  readonly summary: string;
}

/** Nav label and one-line summary of each section; key order is nav order. */
const SECTIONS = {
  sensors: { label: "Sensors", summary: "Capture sensors, their health, storage and devices." },
  jobs: { label: "Jobs", summary: "Packet retrieval jobs: submit, follow and download results." },
  network: { label: "Network", summary: "Locations, subnets and the traffic each sensor sees." },
  admin: { label: "Admin", summary: "Users, system status, storage and the audit log." },
} as const satisfies Record<Section, SectionInfo>;

const SECTION_IDS: readonly Section[] = Object.values(Section);

/**
 * The section a location hash selects: the first path segment after `#/` (so `#/jobs/42` is
 * Jobs). Anything else, including no hash, is Sensors, the landing section.
 */
export function sectionFromHash(hash: string): Section {
  const first = hash.replace(/^#\/?/, "").split(/[/?]/, 1)[0];
  return SECTION_IDS.find((id) => id === first) ?? Section.sensors;
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
 * The application shell: product name, section navigation (hash routes such as `#/jobs`), the
 * collector status badge, a theme switch, and the content area of the selected section.
 *
 * Carries the design tokens (`--pf-…` custom properties, see theme.ts) for everything inside it.
 *
 * @fires theme-change - `CustomEvent<ThemeChangeDetail>` when the user switches the theme with
 *   the header button (not when `theme` is set from outside). Bubbles and crosses shadow roots.
 */
@customElement("pf-app")
export class PfApp extends LitElement {
  static override styles = [
    themeTokens,
    css`
      :host {
        display: block;
        min-block-size: 100vh;
        background: var(--pf-bg);
        color: var(--pf-text);
        font: 400 14px / 1.5 var(--pf-font);
        -webkit-font-smoothing: antialiased;
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 8px 28px;
        min-block-size: 56px;
        padding: 0 24px;
        background: var(--pf-surface);
        border-block-end: 1px solid var(--pf-border);
        box-shadow: var(--pf-shadow);
      }
      .brand {
        display: flex;
        align-items: center;
        gap: 10px;
        font-size: 16px;
        font-weight: 650;
        letter-spacing: -0.01em;
      }
      .brand svg {
        inline-size: 24px;
        block-size: 24px;
      }
      nav ul {
        display: flex;
        gap: 4px;
        margin: 0;
        padding: 0;
        list-style: none;
      }
      nav a {
        display: block;
        padding: 6px 12px;
        border-radius: 6px;
        color: var(--pf-text-muted);
        font-weight: 500;
        text-decoration: none;
      }
      nav a:hover {
        background: var(--pf-surface-hover);
        color: var(--pf-text);
      }
      nav a[aria-current="page"] {
        background: var(--pf-accent-soft);
        color: var(--pf-accent);
      }
      .tools {
        display: flex;
        align-items: center;
        gap: 12px;
        margin-inline-start: auto;
      }
      .theme {
        display: grid;
        place-items: center;
        inline-size: 32px;
        block-size: 32px;
        padding: 0;
        border: 1px solid var(--pf-border);
        border-radius: var(--pf-radius);
        background: transparent;
        color: var(--pf-text-muted);
        cursor: pointer;
      }
      .theme:hover {
        background: var(--pf-surface-hover);
        color: var(--pf-text);
      }
      .theme svg {
        inline-size: 18px;
        block-size: 18px;
        fill: none;
        stroke: currentColor;
        stroke-width: 1.8;
        stroke-linecap: round;
        stroke-linejoin: round;
      }
      a:focus-visible,
      button:focus-visible {
        outline: none;
        box-shadow: var(--pf-focus);
      }
      main {
        padding: 28px 24px;
      }
      h1 {
        margin: 0 0 4px;
        font-size: 22px;
        font-weight: 650;
        letter-spacing: -0.01em;
      }
      .summary {
        margin: 0;
        color: var(--pf-text-muted);
      }
      @media (max-width: 720px) {
        header {
          padding: 8px 16px;
        }
        nav {
          order: 1;
          flex-basis: 100%;
          overflow-x: auto;
        }
        main {
          padding: 20px 16px;
        }
      }
    `,
  ];

  /** Colour theme; `system` follows the operating system's light/dark preference. */
  @property({ reflect: true })
  accessor theme: Theme = Theme.system;

  /**
   * Where the collector API lives: an origin, optionally with a path prefix. Empty (the
   * default) means the origin that served the page.
   */
  @property({ attribute: "api-base" })
  accessor apiBase = "";

  @state()
  private accessor section: Section = Section.sensors;

  private readonly onHashChange = (): void => {
    this.section = sectionFromHash(window.location.hash);
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener("hashchange", this.onHashChange);
    this.onHashChange();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener("hashchange", this.onHashChange);
  }

  protected override updated(changed: PropertyValues): void {
    // The shell owns the document, so the tab and history entries name the section.
    if (changed.has("section")) document.title = `${SECTIONS[this.section].label} · pcapfleet`;
  }

  protected override render(): unknown {
    const theme = isTheme(this.theme) ? this.theme : Theme.system;
    return html`
      <header>
        <div class="brand">
          <svg viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="var(--pf-accent)" />
            <path
              d="M6 17h4l3-8 5 15 3-9 2 2h3"
              fill="none"
              stroke="var(--pf-surface)"
              stroke-width="2.6"
              stroke-linecap="round"
              stroke-linejoin="round"
            />
          </svg>
          <span>pcapfleet</span>
        </div>
        <nav aria-label="Sections">
          <ul>
            ${SECTION_IDS.map(
              (id) =>
                html`<li>
                  <a href="#/${id}" aria-current=${id === this.section ? "page" : nothing}>${SECTIONS[id].label}</a>
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
        </div>
      </header>
      <main aria-labelledby="section-title">
        <h1 id="section-title">${SECTIONS[this.section].label}</h1>
        <p class="summary">${SECTIONS[this.section].summary}</p>
      </main>
    `;
  }

  private switchTheme(): void {
    this.theme = NEXT_THEME[isTheme(this.theme) ? this.theme : Theme.system];
    this.dispatchEvent(
      new CustomEvent<ThemeChangeDetail>("theme-change", {
        detail: { theme: this.theme },
        bubbles: true,
        composed: true,
      }),
    );
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
