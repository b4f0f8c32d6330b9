import { css, html, LitElement, nothing } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage, type Session } from "./api-client.js";
import { logo } from "./brand.js";
import { pageStyles } from "./shared-styles.js";

/** `detail` of the `login` event. */
export interface LoginDetail {
  readonly session: Session;
}

/**
 * The login form. Shows why the user is here (`message`, e.g. an expired session) and the
 * collector's answer to a failed attempt (bad password, rate limit, unreachable).
 *
 * @fires login - `CustomEvent<LoginDetail>` after a successful login. Bubbles and crosses shadow roots.
 */
@customElement("pf-login-page")
export class PfLoginPage extends LitElement {
  static override styles = [
    pageStyles,
    css`
      :host {
        display: grid;
        place-items: center;
        min-block-size: 100vh;
        padding: 24px;
        box-sizing: border-box;
      }
      form {
        display: grid;
        gap: 14px;
        inline-size: min(360px, 100%);
        padding: 28px;
      }
      .brand {
        display: flex;
        align-items: center;
        gap: 10px;
        font-size: 18px;
        font-weight: 650;
      }
      .brand svg {
        inline-size: 28px;
        block-size: 28px;
      }
      button {
        min-block-size: 38px;
      }
    `,
  ];

  /** The API client to log in with. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** Why the login page is shown (an expired session, a logout); empty for none. */
  @property()
  accessor message = "";

  @state()
  private accessor error = "";

  @state()
  private accessor busy = false;

  protected override render(): unknown {
    return html`<form class="panel" @submit=${this.submit} aria-labelledby="login-title">
      <div class="brand">
        ${logo}
        <span id="login-title">pcapfleet</span>
      </div>
      ${this.message === "" ? nothing : html`<p class="notice" role="status">${this.message}</p>`}
      ${this.error === "" ? nothing : html`<p class="notice error" role="alert">${this.error}</p>`}
      <label>Username <input name="username" autocomplete="username" required autofocus /></label>
      <label>
        Password
        <input name="password" type="password" autocomplete="current-password" required />
      </label>
      <button class="primary" type="submit" ?disabled=${this.busy}>${this.busy ? "Logging in…" : "Log in"}</button>
    </form>`;
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const api = this.api;
    if (api === undefined || this.busy) return;
    const data = new FormData(event.currentTarget as HTMLFormElement);
    this.busy = true;
    this.error = "";
    try {
      const session = await api.login(String(data.get("username") ?? ""), String(data.get("password") ?? ""));
      this.dispatchEvent(
        new CustomEvent<LoginDetail>("login", { detail: { session }, bubbles: true, composed: true }),
      );
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.busy = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-login-page": PfLoginPage;
  }
  interface HTMLElementEventMap {
    login: CustomEvent<LoginDetail>;
  }
}
