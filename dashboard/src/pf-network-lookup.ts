import { css, html, LitElement, nothing } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { LookupResult } from "./network-types.js";
import { pageStyles } from "./shared-styles.js";

/**
 * The IP lookup box: where the subnet map places an address or network (`/network/lookup`):
 * the matching entries (manual ones first, then the longest learned prefix) with their
 * locations, and the entries inside a looked-up network. Errors (a malformed address) show
 * under the box.
 */
@customElement("pf-network-lookup")
export class PfNetworkLookup extends LitElement {
  static override styles = [
    pageStyles,
    css`
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 12px;
        margin-block-end: 12px;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  @state()
  private accessor result: LookupResult | undefined;

  @state()
  private accessor error = "";

  @state()
  private accessor busy = false;

  protected override render(): unknown {
    return html`<form @submit=${this.lookup}>
        <label>IP address or network <input name="address" required placeholder="10.1.2.3" autocomplete="off" /></label>
        <button class="primary" type="submit" ?disabled=${this.busy}>Look up</button>
      </form>
      ${this.error === "" ? nothing : html`<p class="notice error" role="alert">${this.error}</p>`}
      ${this.result === undefined ? nothing : this.renderResult(this.result)}`;
  }

  private renderResult(result: LookupResult): unknown {
    const rows = [
      ...result.matches.map((m) => ({ ...m, how: "contains it" })),
      ...result.within.map((m) => ({ ...m, how: "inside it" })),
    ];
    if (rows.length === 0) {
      return html`<p class="muted" data-lookup=${result.address}>No location sees ${result.address}.</p>`;
    }
    return html`<table aria-label="Lookup result" data-lookup=${result.address}>
      <thead>
        <tr><th>Location</th><th>Prefix</th><th>Source</th><th>Match</th></tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) => html`<tr data-location=${r.location}>
            <td>${r.location}</td>
            <td class="mono">${r.prefix}</td>
            <td>${r.source}</td>
            <td>${r.how}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
  }

  private async lookup(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const address = String(new FormData(form).get("address") ?? "").trim();
    if (this.api === undefined || address === "") return;
    this.busy = true;
    this.error = "";
    try {
      const query = new URLSearchParams({ address });
      const { results } = await this.api.request<{ results: LookupResult[] }>(
        "GET",
        `/network/lookup?${query}`,
      );
      this.result = results[0];
    } catch (error) {
      this.result = undefined;
      this.error = errorMessage(error);
    } finally {
      this.busy = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-network-lookup": PfNetworkLookup;
  }
}
