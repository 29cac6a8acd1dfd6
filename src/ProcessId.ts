/**
 * Process identifiers: the node, a per-node counter and the node's incarnation, so a pid is never
 * reused, not even by a node that restarts at the same address.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "cloud-effect"
 * const whoAmI = Effect.gen(function*() {
 *   const me = yield* Process.self
 *   yield* Process.say(`I am ${me}`) // "I am pid://mem:alpha/1764172800000001/1"
 * })
 * ```
 * @since 0.1.0
 */
import { Schema } from "effect"
import { NodeId } from "./NodeId.ts"

/**
 * A process identifier. Printable (`pid://address/incarnation/id`), comparable with {@link equals}
 * and usable as a map key through {@link key}.
 * @since 0.1.0
 */
export class ProcessId extends Schema.TaggedClass<ProcessId>()("ProcessId", {
  node: NodeId,
  incarnation: Schema.Int,
  id: Schema.Int
}) {
  override toString(): string {
    return `pid://${this.node.address}/${this.incarnation}/${this.id}`
  }
}

/**
 * A string that identifies the pid, for use as a `Map` key.
 * @since 0.1.0
 */
export const key = (pid: ProcessId): string => `${pid.node.address}/${pid.incarnation}/${pid.id}`

/**
 * Two pids name the same process.
 * @since 0.1.0
 */
export const equals = (a: ProcessId, b: ProcessId): boolean =>
  a.id === b.id && a.incarnation === b.incarnation && a.node.address === b.node.address
