import { css, html, LitElement, nothing, svg } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { formatBytes, formatCount } from "./format.js";
import {
  dotRadius,
  type Flow,
  lineWidth,
  MAP_HEIGHT,
  MAP_WIDTH,
  type NetworkLocation,
  project,
  type Volume,
  worstStatus,
} from "./network-types.js";
import { pageStyles } from "./shared-styles.js";

const GRATICULE_STEP = 30;
const none: Volume = { bytes: 0, packets: 0 };

/** "2 online, 1 degraded" (states with sensors only); "no sensors" when there are none. */
function sensorsText(location: NetworkLocation): string {
  const parts = (["online", "degraded", "offline"] as const)
    .filter((s) => location.sensors_by_status[s] > 0)
    .map((s) => `${location.sensors_by_status[s]} ${s}`);
  return parts.length === 0 ? "no sensors" : parts.join(", ");
}

/**
 * The network map: an equirectangular projection (graticule every 30°, no tiles) with a dot per
 * location that has coordinates, its area following the location's bytes in the window and its
 * colour the worst status of its sensors, and a line per pair of locations with traffic between
 * them, its width following the bytes. Dots are focusable (Tab) and hovering or focusing one
 * shows its name, sensors by status and volume; locations without coordinates are listed beside
 * the map with the same details.
 */
@customElement("pf-network-map")
export class PfNetworkMap extends LitElement {
  static override styles = [
    pageStyles,
    css`
      .layout {
        display: grid;
        grid-template-columns: minmax(0, 1fr) 240px;
        gap: 16px;
      }
      @media (max-width: 800px) {
        .layout {
          grid-template-columns: 1fr;
        }
      }
      svg {
        inline-size: 100%;
        block-size: auto;
        border: 1px solid var(--pf-border, #dde3ea);
        border-radius: 6px;
        background: var(--pf-bg, #f7f9fb);
      }
      .grid {
        stroke: var(--pf-border, #dde3ea);
        stroke-width: 0.3;
        fill: none;
      }
      .equator {
        stroke-width: 0.6;
      }
      .flow {
        stroke: var(--pf-accent, #2558d6);
        stroke-opacity: 0.55;
        stroke-linecap: round;
      }
      .dot circle {
        stroke: var(--pf-surface, #fff);
        stroke-width: 0.6;
        fill: var(--pf-text-muted, #5a6676);
      }
      .dot[data-status="online"] circle {
        fill: var(--pf-ok, #17924d);
      }
      .dot[data-status="degraded"] circle {
        fill: var(--pf-warn, #b7791f);
      }
      .dot[data-status="offline"] circle {
        fill: var(--pf-danger, #cf3434);
      }
      .dot {
        cursor: pointer;
        outline: none;
      }
      .dot:focus-visible circle,
      .dot[data-active] circle {
        stroke: var(--pf-text, #18212d);
        stroke-width: 1;
      }
      .dot text {
        font-size: 5px;
        fill: var(--pf-text, #18212d);
        pointer-events: none;
      }
      .details {
        min-block-size: 64px;
        margin-block-start: 8px;
        font-size: 13px;
      }
      ul {
        margin: 0;
        padding: 0;
        list-style: none;
        display: grid;
        gap: 8px;
      }
      li {
        font-size: 13px;
      }
    `,
  ];

  /** The locations with sensors and metadata (from `/network/locations`). */
  @property({ attribute: false })
  accessor locations: readonly NetworkLocation[] = [];

  /** Traffic per location over the window. */
  @property({ attribute: false })
  accessor volumes: ReadonlyMap<string, Volume> = new Map();

  /** Traffic between locations over the window. */
  @property({ attribute: false })
  accessor flows: readonly Flow[] = [];

  @state()
  private accessor active = "";

  protected override render(): unknown {
    const placed = this.locations.filter((l) => l.latitude !== null && l.longitude !== null);
    const unplaced = this.locations.filter((l) => l.latitude === null || l.longitude === null);
    const maxBytes = Math.max(0, ...this.locations.map((l) => this.volume(l.name).bytes));
    const active = this.locations.find((l) => l.name === this.active);
    return html`<div class="layout">
      <div>
        <svg
          viewBox="0 0 ${MAP_WIDTH} ${MAP_HEIGHT}"
          role="group"
          aria-label="Network map"
          @mouseleave=${() => {
            this.active = "";
          }}
        >
          ${this.renderGraticule()} ${this.renderFlows(placed)}
          ${placed.map((l) => this.renderDot(l, maxBytes))}
        </svg>
        <div class="details" role="status" aria-live="polite">
          ${active === undefined ? html`<span class="muted">Hover or focus a location for details.</span>` : this.renderDetails(active)}
        </div>
      </div>
      <section aria-labelledby="unplaced-title">
        <h2 id="unplaced-title">Without coordinates</h2>
        ${
          unplaced.length === 0
            ? html`<p class="muted">Every location is on the map.</p>`
            : html`<ul aria-label="Locations without coordinates">
              ${unplaced.map((l) => html`<li data-location=${l.name}>${this.renderDetails(l)}</li>`)}
            </ul>`
        }
      </section>
    </div>`;
  }

  private volume(name: string): Volume {
    return this.volumes.get(name) ?? none;
  }

  private renderGraticule(): unknown {
    const lines = [];
    for (let lon = GRATICULE_STEP; lon < MAP_WIDTH; lon += GRATICULE_STEP) {
      lines.push(svg`<line class="grid" x1=${lon} y1="0" x2=${lon} y2=${MAP_HEIGHT}></line>`);
    }
    for (let lat = GRATICULE_STEP; lat < MAP_HEIGHT; lat += GRATICULE_STEP) {
      const equator = lat === MAP_HEIGHT / 2 ? "grid equator" : "grid";
      lines.push(svg`<line class=${equator} x1="0" y1=${lat} x2=${MAP_WIDTH} y2=${lat}></line>`);
    }
    return svg`<g aria-hidden="true"><rect class="grid" x="0" y="0" width=${MAP_WIDTH} height=${MAP_HEIGHT}></rect>${lines}</g>`;
  }

  private renderFlows(placed: readonly NetworkLocation[]): unknown {
    const at = new Map(placed.map((l) => [l.name, project(l.latitude ?? 0, l.longitude ?? 0)]));
    const drawn = this.flows.filter((f) => at.has(f.from_location) && at.has(f.to_location) && f.bytes > 0);
    const maxBytes = Math.max(0, ...drawn.map((f) => f.bytes));
    return svg`<g aria-hidden="true">${drawn.map((f) => {
      const a = at.get(f.from_location) ?? { x: 0, y: 0 };
      const b = at.get(f.to_location) ?? { x: 0, y: 0 };
      return svg`<line
        class="flow"
        data-from=${f.from_location}
        data-to=${f.to_location}
        data-bytes=${f.bytes}
        x1=${a.x}
        y1=${a.y}
        x2=${b.x}
        y2=${b.y}
        stroke-width=${lineWidth(f.bytes, maxBytes).toFixed(2)}
      ><title>${f.from_location} → ${f.to_location}: ${formatBytes(f.bytes)}</title></line>`;
    })}</g>`;
  }

  private renderDot(location: NetworkLocation, maxBytes: number): unknown {
    const { x, y } = project(location.latitude ?? 0, location.longitude ?? 0);
    const v = this.volume(location.name);
    const r = dotRadius(v.bytes, maxBytes);
    const show = () => {
      this.active = location.name;
    };
    return svg`<g
      class="dot"
      tabindex="0"
      role="img"
      data-location=${location.name}
      data-status=${worstStatus(location.sensors_by_status)}
      ?data-active=${this.active === location.name}
      aria-label="${location.name}: ${sensorsText(location)}; ${formatBytes(v.bytes)}, ${formatCount(v.packets)} packets"
      @mouseenter=${show}
      @focus=${show}
      @blur=${() => {
        if (this.active === location.name) this.active = "";
      }}
    >
      <circle cx=${x.toFixed(2)} cy=${y.toFixed(2)} r=${r.toFixed(2)}></circle>
      <text x=${(x + r + 1).toFixed(2)} y=${(y + 1.5).toFixed(2)}>${location.name}</text>
    </g>`;
  }

  private renderDetails(location: NetworkLocation): unknown {
    const v = this.volume(location.name);
    const status = worstStatus(location.sensors_by_status);
    return html`<strong>${location.name}</strong>
      ${status === "none" ? nothing : html`<span class="pill" data-status=${status}>${status}</span>`}
      ${location.description === "" ? nothing : html`<div class="muted">${location.description}</div>`}
      <div>Sensors: ${sensorsText(location)}</div>
      <div>${formatBytes(v.bytes)} · ${formatCount(v.packets)} packets</div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-network-map": PfNetworkMap;
  }
}
