/**
 * The services that carry the current process and node through an effect's context.
 * @internal
 */
import { Context } from "effect"
import type { NodeId } from "../NodeId.ts"
import type { ProcessId } from "../ProcessId.ts"

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
