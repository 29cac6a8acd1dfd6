/**
 * The transport a node talks to other nodes through: endpoints that send byte frames to addresses,
 * connecting on demand, and report what arrives and which connections were lost.
 *
 * One interface, several implementations: `Transport.layerMemory` (many nodes in one process, with
 * fault injection for tests), TCP and worker threads.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Node, Transport } from "cloud-effect"
 * const twoNodes = Effect.gen(function*() {
 *   const a = yield* Node.make({ name: "a" })
 *   const b = yield* Node.make({ name: "b" })
 *   return [a.nodeId, b.nodeId]
 * }).pipe(Effect.scoped, Effect.provide(Transport.layerMemory))
 * ```
 * @since 0.1.0
 */
import { Context, type Effect, Schema, type Scope } from "effect"

/**
 * What an endpoint reports to its owner.
 * - `Received`: a frame from `from`, in the order `from` sent it.
 * - `ConnectionLost`: the connection to `peer` is gone; frames sent since the last `Received` may be
 *   lost (a gap, never a reordering). The next `send` to `peer` connects again.
 * @since 0.1.0
 */
export type TransportEvent =
  | { readonly _tag: "Received"; readonly from: string; readonly bytes: Uint8Array }
  | { readonly _tag: "ConnectionLost"; readonly peer: string }

/**
 * A transport failed to bind or to reach a peer.
 * @since 0.1.0
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.address}: ${this.reason}`
  }
}

/**
 * One node's attachment to a transport.
 * @since 0.1.0
 */
export interface EndPoint {
  /** the address other endpoints reach this one at */
  readonly address: string
  /**
   * Queue a frame for `to`, connecting on demand. Never blocks and never fails: if `to` cannot be
   * reached the frame is dropped and a `ConnectionLost` event for `to` follows. The transport takes
   * ownership of `bytes` (a worker transport transfers the buffer): do not reuse them.
   */
  readonly send: (to: string, bytes: Uint8Array) => void
  /** connect to `to` now (used to check that a node is there) */
  readonly connect: (to: string) => Effect.Effect<void, TransportError>
}

/**
 * Options for binding an endpoint.
 * @since 0.1.0
 */
export interface BindOptions {
  /** a name or address hint; its meaning is the transport's (in memory: the node's name) */
  readonly name?: string | undefined
}

/**
 * The transport service.
 * @since 0.1.0
 */
export class Transport extends Context.Service<
  Transport,
  {
    /** bind an endpoint; it is unbound (and its peers see `ConnectionLost`) when the scope closes */
    readonly bind: (
      options: BindOptions,
      handler: (event: TransportEvent) => void
    ) => Effect.Effect<EndPoint, TransportError, Scope.Scope>
  }
>()("cloud-effect/Transport") {}

export { layerMemory, layerMemoryWith, MemoryNetwork } from "./transport/Memory.ts"
export { layerTcp, make as makeTcp, type TcpOptions } from "./transport/Tcp.ts"
export { layerWorkerHub, type SpawnOptions, WorkerError, WorkerHub } from "./transport/Worker.ts"
