/**
 * The protocol hierarchy, as `tshark -z io,phs` prints it: each packet counts once in every
 * layer of its protocol path ("eth:vlan:ip:tcp:tls" counts in eth, eth>vlan, ..., eth>...>tls).
 * The analyser counts whole paths (a network has a few dozen); the tree is built at the end.
 */

/** One layer of the hierarchy as JSON. */
export interface ProtocolNode {
  /** Layer name as Wireshark spells it ("eth", "vlan", "ip", "ipv6", "tcp", "tls"...). */
  name: string;
  /** Packets with this layer at this place in their path. */
  packets: number;
  /** Their bytes (original lengths), as tshark's `bytes:`. */
  bytes: number;
  /** Layers found directly above this one, most packets first. */
  children: ProtocolNode[];
}

/** Name of the root layer of packets the decoder could not place (an unsupported link type). */
export const UNKNOWN_LAYER = "unknown";

/** Builds the tree from counted paths (colon-separated layer names; "" for no layer). */
export function buildProtocolTree(
  paths: ReadonlyArray<{ path: string; packets: number; bytes: number }>,
): ProtocolNode[] {
  const root: ProtocolNode = { name: "", packets: 0, bytes: 0, children: [] };
  for (const { path, packets, bytes } of paths) {
    let node = root;
    for (const name of path === "" ? [UNKNOWN_LAYER] : path.split(":")) {
      let child = node.children.find((c) => c.name === name);
      if (child === undefined) {
        child = { name, packets: 0, bytes: 0, children: [] };
        node.children.push(child);
      }
      child.packets += packets;
      child.bytes += bytes;
      node = child;
    }
  }
  sortTree(root.children);
  return root.children;
}

function sortTree(nodes: ProtocolNode[]): void {
  nodes.sort((a, b) => b.packets - a.packets || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const n of nodes) sortTree(n.children);
}
