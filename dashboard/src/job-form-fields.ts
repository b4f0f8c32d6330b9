/**
 * Parts of the New job form that hold no state: its styles, the "Match" fieldset (conversation
 * fields and the tcpdump filter) and the "Details" fieldset (description, size cap). The form
 * element (pf-jobs-new.ts) owns the window, the targets and what is sent.
 */
import { css, html, type nothing, type TemplateResult } from "lit";

/** Id of the element showing the form's problem (inputs point at it with aria-describedby). */
export const PROBLEM_ID = "form-problem";

/** How an input shows whether the form's problem is about it. */
export type FieldMark = (field: string) => {
  readonly invalid: "true" | "false";
  readonly describedBy: string | typeof nothing;
};

/** Protocol names the collector takes (an IP protocol number works too). */
const PROTOCOLS = ["tcp", "udp", "icmp", "icmp6", "sctp"] as const;

/** The form's own styles, beside shared-styles. */
export const jobFormStyles = css`
  form {
    display: grid;
    gap: 16px;
  }
  fieldset {
    display: flex;
    flex-wrap: wrap;
    align-items: end;
    gap: 12px;
    margin: 0;
    padding: 12px 14px 14px;
    border: 1px solid var(--pf-border, #dde3ea);
    border-radius: var(--pf-radius, 8px);
  }
  legend {
    padding: 0 6px;
    font-weight: 600;
  }
  .wide {
    flex: 1 1 320px;
  }
  textarea {
    min-block-size: 56px;
    padding: 6px 8px;
    border: 1px solid var(--pf-border, #dde3ea);
    border-radius: 6px;
    background: var(--pf-bg, #fff);
    color: var(--pf-text, #18212d);
    font: 12.5px / 1.4 var(--pf-font-mono, monospace);
  }
  .picks {
    display: flex;
    flex-wrap: wrap;
    gap: 4px 14px;
    max-block-size: 160px;
    overflow-y: auto;
    flex: 1 1 100%;
  }
  .hint {
    flex: 1 1 100%;
    margin: 0;
    font-size: 12.5px;
  }
  [aria-invalid="true"] {
    border-color: var(--pf-danger, #cf3434);
  }
  .buttons {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
  }
`;

/** Conversation fields (matched both ways) and the tcpdump filter. */
export function matchFields(mark: FieldMark): TemplateResult {
  return html`<fieldset>
    <legend>Match</legend>
    <label>Source IP <input name="srcIp" aria-invalid=${mark("srcIp").invalid} aria-describedby=${mark("srcIp").describedBy} placeholder="10.1.2.3 or 10.1.0.0/16" autocomplete="off" /></label>
    <label>Source port <input name="srcPort" type="number" min="1" max="65535" aria-invalid=${mark("srcPort").invalid} aria-describedby=${mark("srcPort").describedBy} /></label>
    <label>Destination IP <input name="dstIp" aria-invalid=${mark("dstIp").invalid} aria-describedby=${mark("dstIp").describedBy} placeholder="any" autocomplete="off" /></label>
    <label>
      Destination port
      <input name="dstPort" type="number" min="1" max="65535" aria-invalid=${mark("dstPort").invalid} aria-describedby=${mark("dstPort").describedBy} />
    </label>
    <label>
      Protocol
      <input name="protocol" aria-invalid=${mark("protocol").invalid} aria-describedby=${mark("protocol").describedBy} list="protocols" placeholder="any" autocomplete="off" size="8" />
      <datalist id="protocols">${PROTOCOLS.map((p) => html`<option value=${p}></option>`)}</datalist>
    </label>
    <p class="hint muted">Addresses and ports match in both directions, as a conversation.</p>
    <label class="wide">
      Filter (tcpdump expression, ANDed)
      <textarea name="filter" aria-invalid=${mark("filter").invalid} aria-describedby=${mark("filter").describedBy} spellcheck="false" placeholder="e.g. port 53 or icmp"></textarea>
    </label>
  </fieldset>`;
}

/** Description and the cap on the result's size. */
export function detailFields(mark: FieldMark): TemplateResult {
  return html`<fieldset>
    <legend>Details</legend>
    <label class="wide">Description <input name="description" aria-invalid=${mark("description").invalid} aria-describedby=${mark("description").describedBy} maxlength="1000" autocomplete="off" /></label>
    <label>
      Max size
      <input name="maxSize" type="number" min="0" step="any" placeholder="default" aria-invalid=${mark("maxSize").invalid} aria-describedby=${mark("maxSize").describedBy} />
    </label>
    <label>
      Unit
      <select name="maxUnit">
        <option value="MiB">MiB</option>
        <option value="GiB">GiB</option>
      </select>
    </label>
  </fieldset>`;
}
