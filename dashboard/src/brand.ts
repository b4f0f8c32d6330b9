import { html } from "lit";

/** The pcapfleet mark, shared by the login page and the app header. */
export const logo = html`<svg viewBox="0 0 32 32" aria-hidden="true">
  <rect width="32" height="32" rx="7" fill="var(--pf-accent)" />
  <path
    d="M6 17h4l3-8 5 15 3-9 2 2h3"
    fill="none"
    stroke="var(--pf-surface)"
    stroke-width="2.6"
    stroke-linecap="round"
    stroke-linejoin="round"
  />
</svg>`;
