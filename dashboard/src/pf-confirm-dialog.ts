import { css, html, LitElement, nothing } from "lit";
import { customElement, query, state } from "lit/decorators.js";
import { pageStyles } from "./shared-styles.js";

/** What {@link PfConfirmDialog.ask} shows. */
export interface ConfirmRequest {
  readonly title: string;
  readonly message: string;
  /** Label of the confirming button ("Delete"). */
  readonly confirmLabel: string;
  /** Label of the dismissing button; "Cancel" by default (ambiguous when the action is one). */
  readonly cancelLabel?: string;
  /** Marks the confirming button as destructive. */
  readonly danger?: boolean;
  /** Asks for a value too (a new password), with this label. */
  readonly input?: { readonly label: string; readonly type: "text" | "password"; readonly minLength: number };
}

/**
 * A modal confirmation (native `<dialog>`, so focus is trapped and Escape cancels) for
 * destructive or account-changing actions. `ask()` resolves to the typed value (or "" without an
 * input) when confirmed, and to null when cancelled.
 */
@customElement("pf-confirm-dialog")
export class PfConfirmDialog extends LitElement {
  static override styles = [
    pageStyles,
    css`
      dialog {
        inline-size: min(420px, calc(100vw - 48px));
        padding: 20px 22px;
        border: 1px solid var(--pf-border, #dde3ea);
        border-radius: var(--pf-radius, 8px);
        background: var(--pf-surface, #fff);
        color: var(--pf-text, #18212d);
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 0.35);
      }
      form {
        display: grid;
        gap: 14px;
      }
      .actions {
        display: flex;
        justify-content: end;
        gap: 8px;
      }
    `,
  ];

  @state()
  private accessor request: ConfirmRequest | undefined;

  @query("dialog")
  private accessor dialog: HTMLDialogElement | null = null;

  private settle: ((value: string | null) => void) | undefined;

  /** Opens the dialog; resolves when the user confirms (the value) or cancels (null). */
  async ask(request: ConfirmRequest): Promise<string | null> {
    this.settle?.(null);
    this.request = request;
    await this.updateComplete;
    this.dialog?.showModal();
    return new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  protected override render(): unknown {
    const r = this.request;
    return html`<dialog aria-labelledby="confirm-title" @close=${() => this.finish(null)}>
      ${
        r === undefined
          ? nothing
          : html`<form method="dialog" @submit=${this.confirm}>
            <h2 id="confirm-title">${r.title}</h2>
            <p>${r.message}</p>
            ${
              r.input === undefined
                ? nothing
                : html`<label>${r.input.label}<input name="value" type=${r.input.type} minlength=${r.input.minLength} required autocomplete="new-password" /></label>`
            }
            <div class="actions">
              <button type="button" @click=${() => this.dialog?.close()}>${r.cancelLabel ?? "Cancel"}</button>
              <button type="submit" class=${r.danger === true ? "primary danger" : "primary"}>${r.confirmLabel}</button>
            </div>
          </form>`
      }
    </dialog>`;
  }

  private confirm(event: SubmitEvent): void {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const value = String(new FormData(form).get("value") ?? "");
    this.finish(value);
    form.reset();
    this.dialog?.close();
  }

  private finish(value: string | null): void {
    const settle = this.settle;
    this.settle = undefined;
    settle?.(value);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-confirm-dialog": PfConfirmDialog;
  }
}
