/**
 * The identity of a node: the address its transport reaches it at.
 *
 * @example
 * ```ts
 * import { NodeId } from "cloud-effect"
 * const nid = NodeId.make("mem:alpha")
 * String(nid) // "nid://mem:alpha"
 * ```
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A node's address, e.g. `mem:alpha` (in-memory), `tcp://127.0.0.1:4000`, `thread:3`.
 * @since 0.1.0
 */
export class NodeId extends Schema.TaggedClass<NodeId>()("NodeId", { address: Schema.String }) {
  override toString(): string {
    return `nid://${this.address}`
  }
}

/**
 * Make a node id from an address.
 * @since 0.1.0
 */
export const make = (address: string): NodeId => new NodeId({ address })

/**
 * Two node ids name the same node.
 * @since 0.1.0
 */
export const equals = (a: NodeId, b: NodeId): boolean => a.address === b.address
