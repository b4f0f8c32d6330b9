import { css } from "lit";

/** The shell's own styles (header, navigation, user menu, content area); see pf-app.ts. */
export const appStyles = css`
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
  :host([density="compact"]) {
    --pf-cell-pad-y: 4px;
  }
  .user {
    display: flex;
    align-items: center;
    gap: 8px;
    color: var(--pf-text-muted);
    text-decoration: none;
  }
  .user:hover {
    color: var(--pf-text);
  }
  .user img,
  .user .initial {
    display: grid;
    place-items: center;
    inline-size: 28px;
    block-size: 28px;
    border-radius: 50%;
    object-fit: cover;
    background: var(--pf-accent-soft);
    color: var(--pf-accent);
    font-weight: 650;
  }
  .role {
    padding: 1px 7px;
    border: 1px solid var(--pf-border);
    border-radius: 999px;
    font-size: 11.5px;
  }
  .logout {
    min-block-size: 32px;
    padding: 0 12px;
    border: 1px solid var(--pf-border);
    border-radius: var(--pf-radius);
    background: transparent;
    color: var(--pf-text-muted);
    font: inherit;
    cursor: pointer;
  }
  .logout:hover {
    background: var(--pf-surface-hover);
    color: var(--pf-text);
  }
`;
