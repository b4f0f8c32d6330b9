import { css, svg, type TemplateResult } from "lit";
import { formatBytes, formatTime } from "./format.js";
import type { TrafficPoint } from "./network-types.js";

const WIDTH = 1000;
const HEIGHT = 200;
const AXIS = 18;
/** Widest bar, so a window of few points does not draw slabs. */
const MAX_BAR = 40;

/** Styles of {@link trafficChart}, for the page that renders it. */
export const chartStyles = css`
  svg.chart {
    inline-size: 100%;
    block-size: auto;
  }
  .chart .bar {
    fill: var(--pf-accent, #2558d6);
    fill-opacity: 0.8;
  }
  .chart .bar:hover {
    fill-opacity: 1;
  }
  .chart .axis {
    stroke: var(--pf-border, #dde3ea);
  }
  .chart text {
    font-size: 10px;
    fill: var(--pf-text-muted, #5a6676);
  }
`;

/**
 * Traffic over time as SVG bars, one per point (bytes), each with a tooltip giving its time in
 * `timeZone` and its bytes; the busiest point and the first and last times label the axes.
 */
export function trafficChart(points: readonly TrafficPoint[], timeZone: string): TemplateResult {
  const max = Math.max(0, ...points.map((p) => p.bytes));
  const total = points.reduce((sum, p) => sum + p.bytes, 0);
  const step = points.length === 0 ? 0 : WIDTH / points.length;
  const plot = HEIGHT - AXIS;
  const first = points[0];
  const last = points.at(-1);
  return svg`<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img"
      aria-label="Traffic over time: ${points.length} points, ${formatBytes(total)} in all, at most ${formatBytes(max)}">
    <line class="axis" x1="0" y1=${plot} x2=${WIDTH} y2=${plot}></line>
    ${points.map((p, i) => {
      const h = max === 0 ? 0 : (p.bytes / max) * (plot - 12);
      const w = Math.max(0.5, Math.min(MAX_BAR, step * 0.8));
      return svg`<rect class="bar" data-time=${p.time} data-bytes=${p.bytes}
        x=${(i * step + (step - w) / 2).toFixed(2)} y=${(plot - h).toFixed(2)}
        width=${w.toFixed(2)} height=${h.toFixed(2)}
      ><title>${formatTime(p.time, timeZone)}: ${formatBytes(p.bytes)}</title></rect>`;
    })}
    <text x="2" y="10">${formatBytes(max)}</text>
    ${first === undefined ? "" : svg`<text x="2" y=${HEIGHT - 4}>${formatTime(first.time, timeZone)}</text>`}
    ${last === undefined ? "" : svg`<text x=${WIDTH - 2} y=${HEIGHT - 4} text-anchor="end">${formatTime(last.time, timeZone)}</text>`}
  </svg>`;
}
