import { css } from "lit";

/** Colour theme of the dashboard: a fixed one, or whatever the operating system prefers. */
export const Theme = {
  light: "light",
  dark: "dark",
  system: "system",
} as const;

/** One of {@link Theme}'s values. */
export type Theme = (typeof Theme)[keyof typeof Theme];

/** Whether a string (an attribute, a stored preference) names a {@link Theme}. */
export function isTheme(value: unknown): value is Theme {
  return value === Theme.light || value === Theme.dark || value === Theme.system;
}

const light = css`
  color-scheme: light;
  --pf-bg: #f5f7fa;
  --pf-surface: #ffffff;
  --pf-surface-hover: #eef1f5;
  --pf-text: #18212d;
  --pf-text-muted: #5a6676;
  --pf-border: #dde3ea;
  --pf-accent: #2558d6;
  --pf-accent-soft: rgb(37 88 214 / 0.1);
  --pf-ok: #17924d;
  --pf-warn: #b7791f;
  --pf-danger: #cf3434;
  --pf-shadow: 0 1px 2px rgb(16 24 40 / 0.06);
`;

const dark = css`
  color-scheme: dark;
  --pf-bg: #0e131a;
  --pf-surface: #151c25;
  --pf-surface-hover: #1d2631;
  --pf-text: #e5eaf0;
  --pf-text-muted: #98a4b3;
  --pf-border: #28323e;
  --pf-accent: #7aa2ff;
  --pf-accent-soft: rgb(122 162 255 / 0.14);
  --pf-ok: #3fcf7f;
  --pf-warn: #e3b341;
  --pf-danger: #ff6b6b;
  --pf-shadow: 0 1px 2px rgb(0 0 0 / 0.4);
`;

/**
 * The design tokens as CSS custom properties, for the element that carries the `theme`
 * attribute (pf-app). Custom properties inherit through shadow roots, so every element below
 * it styles itself with `var(--pf-…)`; each use also names a fallback so an element still
 * renders sensibly on its own.
 */
export const themeTokens = css`
  :host {
    ${light}
    --pf-font: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif;
    --pf-font-mono: ui-monospace, "SFMono-Regular", Menlo, "Liberation Mono", "DejaVu Sans Mono", monospace;
    --pf-radius: 8px;
    --pf-focus: 0 0 0 3px var(--pf-accent-soft), 0 0 0 1px var(--pf-accent);
  }
  :host([theme="dark"]) {
    ${dark}
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme="light"])) {
      ${dark}
    }
  }
`;
