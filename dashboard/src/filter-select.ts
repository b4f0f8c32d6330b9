import { html, type TemplateResult } from "lit";

/** What {@link filterSelect} shows. */
export interface FilterSelect {
  /** Visible label; the select's accessible name is "<label> filter". */
  readonly label: string;
  /** The first option, which selects everything (value ""). */
  readonly anyLabel: string;
  readonly values: readonly string[];
  /** The current value; "" for everything. */
  readonly value: string;
  readonly onChange: (value: string) => void;
}

/** A labelled `<select>` narrowing a list to one value, with an "any" option first. */
export function filterSelect(filter: FilterSelect): TemplateResult {
  return html`<label>
    ${filter.label}
    <select
      aria-label=${`${filter.label} filter`}
      @change=${(e: Event) => filter.onChange((e.target as HTMLSelectElement).value)}
    >
      <option value="" ?selected=${filter.value === ""}>${filter.anyLabel}</option>
      ${filter.values.map((v) => html`<option value=${v} ?selected=${v === filter.value}>${v}</option>`)}
    </select>
  </label>`;
}
