import { css, html, LitElement } from "lit";
import { customElement, property } from "lit/decorators.js";
import { styleMap } from "lit/directives/style-map.js";
import { formatBytes, formatCount, formatPercent } from "./format.js";
import type { ProtocolNode } from "./job-types.js";
import { jobStyles } from "./job-ui.js";
import { pageStyles } from "./shared-styles.js";

/** A node of the tree with its depth, in display order. */
interface Row {
  readonly node: ProtocolNode;
  readonly depth: number;
  /** Dotted path of names, unique in the tree ("eth.ip.tcp"). */
  readonly path: string;
}

/** The tree depth first, as `tshark -z io,phs` prints it. */
export function flattenProtocols(nodes: readonly ProtocolNode[], depth = 0, parent = ""): Row[] {
  const rows: Row[] = [];
  for (const node of nodes) {
    const path = parent === "" ? node.name : `${parent}.${node.name}`;
    rows.push({ node, depth, path });
    rows.push(...flattenProtocols(node.children, depth + 1, path));
  }
  return rows;
}

/**
 * The protocol hierarchy of a job's result as an indented tree: each layer with its packets
 * and bytes, and bars showing its share of all packets and of all bytes.
 */
@customElement("pf-jobs-protocols")
export class PfJobsProtocols extends LitElement {
  static override styles = [
    pageStyles,
    jobStyles,
    css`
      td.name {
        white-space: nowrap;
      }
      td.share {
        inline-size: 22%;
      }
      .share .bar {
        margin-block-start: 4px;
      }
    `,
  ];

  /** The hierarchy's top layers. */
  @property({ attribute: false })
  accessor nodes: readonly ProtocolNode[] = [];

  /** Packets of the whole result (the 100 % of the packet bars). */
  @property({ type: Number })
  accessor packets = 0;

  /** Bytes of the whole result. */
  @property({ type: Number })
  accessor bytes = 0;

  protected override render(): unknown {
    const rows = flattenProtocols(this.nodes);
    if (rows.length === 0) return html`<p class="muted">No packets.</p>`;
    const share = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);
    const bar = (fraction: number) =>
      html`<span class="bar"><span style=${styleMap({ inlineSize: `${(fraction * 100).toFixed(1)}%` })}></span></span>`;
    return html`<div class="scroll">
      <table aria-label="Protocol hierarchy">
        <thead>
          <tr>
            <th>Protocol</th>
            <th class="num">Packets</th>
            <th>Share of packets</th>
            <th class="num">Bytes</th>
            <th>Share of bytes</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(({ node, depth, path }) => {
            const p = share(node.packets, this.packets);
            const b = share(node.bytes, this.bytes);
            return html`<tr data-path=${path}>
              <td class="name mono" style=${styleMap({ paddingInlineStart: `${10 + depth * 16}px` })}>${node.name}</td>
              <td class="num">${formatCount(node.packets)}</td>
              <td class="share"><span class="muted">${formatPercent(p * 100)}</span>${bar(p)}</td>
              <td class="num">${formatBytes(node.bytes)}</td>
              <td class="share"><span class="muted">${formatPercent(b * 100)}</span>${bar(b)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-jobs-protocols": PfJobsProtocols;
  }
}
