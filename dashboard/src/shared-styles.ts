import { css } from "lit";

/**
 * Styles the pages share: panels, tables, forms, buttons, status pills and notices. Each page
 * adopts them in `static styles`; colours come from the `--pf-…` tokens pf-app carries
 * (theme.ts), and table padding from `--pf-cell-pad-y`, which follows the density preference.
 */
export const pageStyles = css`
  :host {
    display: block;
  }
  h1 {
    margin: 0 0 4px;
    font-size: 22px;
    font-weight: 650;
    letter-spacing: -0.01em;
  }
  h2 {
    margin: 0 0 12px;
    font-size: 15px;
    font-weight: 650;
  }
  .summary {
    margin: 0 0 20px;
    color: var(--pf-text-muted, #5a6676);
  }
  .panel {
    margin-block-end: 20px;
    padding: 16px 18px;
    border: 1px solid var(--pf-border, #dde3ea);
    border-radius: var(--pf-radius, 8px);
    background: var(--pf-surface, #fff);
    box-shadow: var(--pf-shadow, none);
  }
  .scroll {
    overflow-x: auto;
  }
  table {
    inline-size: 100%;
    border-collapse: collapse;
    font-variant-numeric: tabular-nums;
  }
  th,
  td {
    padding: var(--pf-cell-pad-y, 9px) 10px;
    border-block-end: 1px solid var(--pf-border, #dde3ea);
    text-align: start;
    vertical-align: top;
  }
  th {
    color: var(--pf-text-muted, #5a6676);
    font-size: 12px;
    font-weight: 600;
    text-transform: uppercase;
    letter-spacing: 0.03em;
  }
  td.num,
  th.num {
    text-align: end;
  }
  tbody tr:hover {
    background: var(--pf-surface-hover, #eef1f5);
  }
  .muted {
    color: var(--pf-text-muted, #5a6676);
  }
  .mono {
    font-family: var(--pf-font-mono, monospace);
    font-size: 12.5px;
  }
  .pill {
    display: inline-block;
    padding: 1px 9px;
    border-radius: 999px;
    font-size: 12px;
    font-weight: 600;
    background: var(--pf-surface-hover, #eef1f5);
  }
  .pill[data-status="online"],
  .pill[data-status="ok"],
  .pill[data-status="up"] {
    color: var(--pf-ok, #17924d);
    background: color-mix(in srgb, var(--pf-ok, #17924d) 14%, transparent);
  }
  .pill[data-status="degraded"],
  .pill[data-status="warn"] {
    color: var(--pf-warn, #b7791f);
    background: color-mix(in srgb, var(--pf-warn, #b7791f) 16%, transparent);
  }
  .pill[data-status="offline"],
  .pill[data-status="down"],
  .pill[data-status="error"],
  .pill[data-status="disabled"] {
    color: var(--pf-danger, #cf3434);
    background: color-mix(in srgb, var(--pf-danger, #cf3434) 14%, transparent);
  }
  .reasons {
    margin: 4px 0 0;
    padding: 0;
    list-style: none;
    color: var(--pf-text-muted, #5a6676);
    font-size: 12.5px;
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    align-items: end;
    gap: 12px;
    margin-block-end: 16px;
  }
  label {
    display: grid;
    gap: 4px;
    font-size: 12.5px;
    font-weight: 500;
    color: var(--pf-text-muted, #5a6676);
  }
  label.check {
    display: flex;
    align-items: center;
    gap: 6px;
  }
  input,
  select {
    min-block-size: 32px;
    padding: 4px 8px;
    border: 1px solid var(--pf-border, #dde3ea);
    border-radius: 6px;
    background: var(--pf-bg, #fff);
    color: var(--pf-text, #18212d);
    font: inherit;
  }
  button {
    min-block-size: 32px;
    padding: 4px 14px;
    border: 1px solid var(--pf-border, #dde3ea);
    border-radius: 6px;
    background: var(--pf-surface, #fff);
    color: var(--pf-text, #18212d);
    font: inherit;
    font-weight: 500;
    cursor: pointer;
  }
  button:hover {
    background: var(--pf-surface-hover, #eef1f5);
  }
  button.primary {
    border-color: var(--pf-accent, #2558d6);
    background: var(--pf-accent, #2558d6);
    color: var(--pf-surface, #fff);
  }
  button.danger {
    color: var(--pf-danger, #cf3434);
  }
  button.primary.danger {
    border-color: var(--pf-danger, #cf3434);
    background: var(--pf-danger, #cf3434);
    color: #fff;
  }
  button:disabled {
    opacity: 0.55;
    cursor: default;
  }
  input:focus-visible,
  select:focus-visible,
  button:focus-visible,
  a:focus-visible {
    outline: none;
    box-shadow: var(--pf-focus, 0 0 0 2px #2558d6);
  }
  a {
    color: var(--pf-accent, #2558d6);
  }
  .notice {
    padding: 12px 14px;
    border-radius: var(--pf-radius, 8px);
    background: var(--pf-surface-hover, #eef1f5);
  }
  .notice.error {
    color: var(--pf-danger, #cf3434);
    background: color-mix(in srgb, var(--pf-danger, #cf3434) 10%, transparent);
  }
  .cards {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
    gap: 12px;
    margin-block-end: 20px;
  }
  .card {
    padding: 12px 14px;
    border: 1px solid var(--pf-border, #dde3ea);
    border-radius: var(--pf-radius, 8px);
    background: var(--pf-surface, #fff);
  }
  .card .value {
    display: block;
    font-size: 22px;
    font-weight: 650;
  }
  .card .label {
    color: var(--pf-text-muted, #5a6676);
    font-size: 12.5px;
  }
  dl {
    display: grid;
    grid-template-columns: max-content 1fr;
    gap: 6px 18px;
    margin: 0;
  }
  dt {
    color: var(--pf-text-muted, #5a6676);
  }
  dd {
    margin: 0;
  }
`;
