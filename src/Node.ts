/**
 * Nodes: a node runs processes and connects them to the processes of other nodes through a
 * `Transport`. A node is scoped: closing its scope interrupts every process on it, runs their
 * finalizers, tells its peers it is going away and unbinds its endpoint.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process } from "cloud-effect"
 * const main = Node.runProcess(Effect.gen(function*() {
 *   yield* Process.say("hello from a process")
 *   return yield* Process.self
 * })).pipe(Effect.provide(Node.layer()))
 * ```
 * @since 0.1.0
 */
import { Effect, Exit, Fiber, Layer, Option, Schema, Scope } from "effect"
import { CurrentNode, type CurrentProcess, type NodeService } from "./internal/context.ts"
import { LocalNode } from "./internal/node.ts"
// the patterns' slave bodies are built-in definitions: every node must know them
import "./internal/patterns/slaves.ts"
import { start } from "./internal/spawn.ts"
import { DiedReason } from "./Notification.ts"
import { ProcessId } from "./ProcessId.ts"
import { Transport, type TransportError } from "./Transport.ts"

/** @since 0.1.0 */
export type { NodeService }
export {
  /**
   * The current node: the service `runProcess` starts processes on.
   * @since 0.1.0
   */
  CurrentNode as Node
}

/**
 * A process started by `runProcess` died without producing a result (it was killed, linked to a
 * process that ended, or its node shut down).
 * @since 0.1.0
 */
export class ProcessDied extends Schema.TaggedError<ProcessDied>()("ProcessDied", {
  pid: ProcessId,
  reason: DiedReason
}) {
  override get message(): string {
    return `${this.pid} died: ${this.reason._tag}${this.reason._tag === "DiedException" ? ` (${this.reason.error})` : ""}`
  }
}

/**
 * Options for a node.
 * @since 0.1.0
 */
export interface Options {
  /** the node's name; on the in-memory transport its address is `mem:<name>` */
  readonly name?: string | undefined
}

let unnamed = 0

/**
 * Start a node in the current scope. It uses the `Transport` in the context, if there is one;
 * without one it is a single node that cannot reach others.
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<NodeService, TransportError, Scope.Scope> =>
  Effect.gen(function* () {
    const transport = yield* Effect.serviceOption(Transport)
    const context = yield* Effect.context<never>()
    let node: LocalNode | undefined
    const endpoint = Option.isSome(transport)
      ? yield* transport.value.bind({ name: options.name }, (event) => node?.onEvent(event))
      : undefined
    const processScope = yield* Scope.make()
    node = new LocalNode(
      endpoint,
      endpoint?.address ?? `local:${options.name ?? `node-${++unnamed}`}`,
      processScope,
      context
    )
    const self = node
    yield* Effect.addFinalizer((exit) =>
      Effect.suspend(() => {
        self.closing = true
        return Scope.close(processScope, exit)
      }).pipe(Effect.andThen(Effect.sync(() => self.goodbye(self.peers))))
    )
    return self
  })

/**
 * A layer that starts a node (and ends it with the layer's scope).
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<CurrentNode, TransportError> =>
  Layer.effect(CurrentNode, make(options))

/**
 * Run `effect` as a process on the current node and return its result. Fails with the effect's
 * error, or with `ProcessDied` if the process was stopped from outside. Interrupting the caller
 * kills the process.
 * @since 0.1.0
 */
export const runProcess = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | ProcessDied, CurrentNode | Exclude<R, CurrentProcess>> =>
  Effect.flatMap(Effect.service(CurrentNode), (service) =>
    Effect.flatMap(start(service as LocalNode, effect), ([state, fiber]) =>
      Fiber.await(fiber).pipe(
        Effect.onInterrupt(() => Fiber.interrupt(fiber)),
        Effect.flatMap((exit): Effect.Effect<A, E | ProcessDied> => {
          if (Exit.isSuccess(exit)) return exit
          if (state.signal !== undefined || Exit.hasInterrupts(exit)) {
            const node = service as LocalNode
            return Effect.fail(new ProcessDied({ pid: state.self, reason: node.reasonOf(state, exit) }))
          }
          return exit
        })
      )
    )
  )

/**
 * The pids of the live processes of the current node.
 * @since 0.1.0
 */
export const processes: Effect.Effect<ReadonlyArray<ProcessId>, never, CurrentNode> = Effect.map(
  Effect.service(CurrentNode),
  (service) => [...(service as LocalNode).processes.values()].map((p) => p.self)
)
