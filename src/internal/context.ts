/**
 * The services that carry the current process and node through an effect's context.
 * @internal
 */
import { Context, Effect } from "effect"
import type { NodeId } from "../NodeId.ts"
import type { ProcessId } from "../ProcessId.ts"
import type { ProcessState } from "./node.ts"

/** What a process sees of itself. */
export interface ProcessService {
  readonly self: ProcessId
  readonly nodeId: NodeId
}

/** The current process. */
export class CurrentProcess extends Context.Service<CurrentProcess, ProcessService>()("cloud-effect/Process") {}

/** What a program sees of its node. */
export interface NodeService {
  readonly nodeId: NodeId
}

/** The current node. */
export class CurrentNode extends Context.Service<CurrentNode, NodeService>()("cloud-effect/Node") {}

/** run `f` with the current process's state; one step of the fiber (the hot paths use it) */
export const withProcess = <A, E, R>(
  f: (state: ProcessState) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | CurrentProcess> =>
  Effect.withFiber((fiber) => f(Context.getUnsafe(fiber.context, CurrentProcess) as ProcessState))

/** the current process's state, as a value */
export const withState = <A>(f: (state: ProcessState) => A): Effect.Effect<A, never, CurrentProcess> =>
  Effect.withFiber((fiber) => Effect.succeed(f(Context.getUnsafe(fiber.context, CurrentProcess) as ProcessState)))
