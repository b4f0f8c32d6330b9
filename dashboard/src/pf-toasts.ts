import { css, html, LitElement } from "lit";
import { customElement, state } from "lit/decorators.js";
import { repeat } from "lit/directives/repeat.js";

/** Kind of a toast notification. */
export const ToastKind = {
  success: "success",
  error: "error",
} as const;

/** One of {@link ToastKind}'s values. */
export type ToastKind = (typeof ToastKind)[keyof typeof ToastKind];

/** `detail` of the `pf-toast` event. */
export interface ToastDetail {
  readonly kind: ToastKind;
  readonly message: string;
}

/**
 * Asks the page to show a toast: dispatches `pf-toast` from `from`, which bubbles out of shadow
 * roots up to pf-app. Pages call this rather than holding a reference to the toast stack.
 */
export function toast(from: EventTarget, kind: ToastKind, message: string): void {
  from.dispatchEvent(
    new CustomEvent<ToastDetail>("pf-toast", { detail: { kind, message }, bubbles: true, composed: true }),
  );
}

interface Shown extends ToastDetail {
  readonly id: number;
}

/** How long a toast stays, unless dismissed. Errors stay longer: they need reading. */
const DURATION_MS: Readonly<Record<ToastKind, number>> = { success: 4_000, error: 8_000 };

/**
 * The stack of toast notifications in the page's corner. Success toasts are announced politely,
 * errors assertively (role="alert").
 */
@customElement("pf-toasts")
export class PfToasts extends LitElement {
  static override styles = css`
    :host {
      position: fixed;
      inset-block-end: 16px;
      inset-inline-end: 16px;
      z-index: 10;
      display: grid;
      gap: 8px;
      max-inline-size: min(420px, calc(100vw - 32px));
    }
    .toast {
      display: flex;
      align-items: start;
      gap: 10px;
      padding: 10px 12px 10px 14px;
      border: 1px solid var(--pf-border, #dde3ea);
      border-inline-start: 4px solid var(--pf-ok, #17924d);
      border-radius: var(--pf-radius, 8px);
      background: var(--pf-surface, #fff);
      color: var(--pf-text, #18212d);
      box-shadow: 0 6px 20px rgb(0 0 0 / 0.15);
    }
    .toast[data-kind="error"] {
      border-inline-start-color: var(--pf-danger, #cf3434);
    }
    .message {
      flex: 1;
    }
    button {
      border: 0;
      background: none;
      color: var(--pf-text-muted, #5a6676);
      font-size: 16px;
      line-height: 1;
      cursor: pointer;
    }
  `;

  @state()
  private accessor shown: readonly Shown[] = [];

  private nextId = 1;

  /** Shows a toast; it goes away by itself after a few seconds. */
  show(detail: ToastDetail): void {
    const id = this.nextId++;
    this.shown = [...this.shown, { ...detail, id }];
    window.setTimeout(() => this.dismiss(id), DURATION_MS[detail.kind]);
  }

  /** Removes a toast. */
  dismiss(id: number): void {
    this.shown = this.shown.filter((item) => item.id !== id);
  }

  protected override render(): unknown {
    return repeat(
      this.shown,
      (item) => item.id,
      (item) =>
        html`<div class="toast" data-kind=${item.kind} role=${item.kind === "error" ? "alert" : "status"}>
          <span class="message">${item.message}</span>
          <button type="button" aria-label="Dismiss" @click=${() => this.dismiss(item.id)}>×</button>
        </div>`,
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-toasts": PfToasts;
  }
  interface HTMLElementEventMap {
    "pf-toast": CustomEvent<ToastDetail>;
  }
}
