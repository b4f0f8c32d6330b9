import { css, html, type TemplateResult } from "lit";
import { styleMap } from "lit/directives/style-map.js";
import { formatPercent } from "./format.js";
import { shortHash } from "./job-format.js";
import { toast } from "./pf-toasts.js";

/**
 * Styles and small templates the job pages share: job and task status pills, progress bars,
 * the title row with its actions, and shortened hashes with a copy button.
 */
export const jobStyles = css`
  .pill[data-status="complete"] {
    color: var(--pf-ok, #17924d);
    background: color-mix(in srgb, var(--pf-ok, #17924d) 14%, transparent);
  }
  .pill[data-status="running"] {
    color: var(--pf-accent, #2558d6);
    background: var(--pf-accent-soft, rgb(37 88 214 / 0.1));
  }
  .pill[data-status="partial"] {
    color: var(--pf-warn, #b7791f);
    background: color-mix(in srgb, var(--pf-warn, #b7791f) 16%, transparent);
  }
  .pill[data-status="failed"] {
    color: var(--pf-danger, #cf3434);
    background: color-mix(in srgb, var(--pf-danger, #cf3434) 14%, transparent);
  }
  .pill[data-status="cancelled"],
  .pill[data-status="no_data"],
  .pill[data-status="queued"],
  .pill[data-status="pending"] {
    color: var(--pf-text-muted, #5a6676);
  }
  .bar {
    display: block;
    inline-size: 100%;
    min-inline-size: 80px;
    block-size: 8px;
    overflow: hidden;
    border-radius: 4px;
    background: var(--pf-surface-hover, #eef1f5);
  }
  .bar > span {
    display: block;
    block-size: 100%;
    background: var(--pf-accent, #2558d6);
  }
  .bar[data-status="complete"] > span {
    background: var(--pf-ok, #17924d);
  }
  .bar[data-status="failed"] > span,
  .bar[data-status="partial"] > span {
    background: var(--pf-warn, #b7791f);
  }
  .bar[data-status="cancelled"] > span {
    background: var(--pf-text-muted, #5a6676);
  }
  .progress {
    display: grid;
    gap: 2px;
    min-inline-size: 110px;
    font-size: 12px;
  }
  .title {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 10px 12px;
  }
  .title .actions {
    display: flex;
    gap: 8px;
    margin-inline-start: auto;
  }
  .back {
    display: inline-block;
    margin-block-end: 8px;
    text-decoration: none;
  }
  .hash {
    display: inline-flex;
    align-items: center;
    gap: 4px;
    white-space: nowrap;
  }
  button.small {
    min-block-size: 24px;
    padding: 1px 8px;
    font-size: 12px;
  }
  .nowrap {
    white-space: nowrap;
  }
`;

/**
 * A progress bar for a fraction 0–1, coloured by `status`, with the percentage for assistive
 * technology (`role="progressbar"`). The width is set through the CSSOM (styleMap), which a
 * strict Content-Security-Policy allows where a `style` attribute would be refused.
 */
export function progressBar(fraction: number, status: string, label: string): TemplateResult {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const percent = Math.round(clamped * 100);
  return html`<span
    class="bar"
    role="progressbar"
    aria-label=${label}
    aria-valuemin="0"
    aria-valuemax="100"
    aria-valuenow=${percent}
    aria-valuetext=${formatPercent(clamped * 100)}
    data-status=${status}
    ><span style=${styleMap({ inlineSize: `${(clamped * 100).toFixed(1)}%` })}></span
  ></span>`;
}

/** Copies `text` to the clipboard and says so in a toast (or why it could not). */
export async function copyText(from: EventTarget, text: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast(from, "success", `${what} copied.`);
  } catch {
    // No clipboard permission (an embedding page, an old browser): the value is in the title.
    toast(from, "error", `${what} could not be copied: select it from the tooltip instead.`);
  }
}

/** A SHA-256 shortened, with the full value as its title and a copy button. */
export function hashCell(from: EventTarget, sha256: string | null, label: string): unknown {
  if (sha256 === null) return html`<span class="muted">—</span>`;
  return html`<span class="hash">
    <span class="mono" title=${sha256}>${shortHash(sha256)}</span>
    <button type="button" class="small" aria-label="Copy SHA-256 of ${label}" @click=${() => copyText(from, sha256, "SHA-256")}>
      Copy
    </button>
  </span>`;
}
