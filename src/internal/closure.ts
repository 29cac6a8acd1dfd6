/**
 * The data of remote spawn: closures on the wire, the remote table, spawn and call replies.
 * (Apart from Remote.ts so the node runtime can use them without an import cycle.)
 * @internal
 */
import { Context, type Effect, type Option, Schema } from "effect"
import { NodeId } from "../NodeId.ts"
import { MonitorRef } from "../Notification.ts"
import { ProcessId } from "../ProcessId.ts"
import type { CurrentProcess } from "./context.ts"

/**
 * A closure on the wire: the name of a definition and its encoded environment. A message like any
 * other (it can be sent to other processes).
 * @since 0.1.0
 */
export class Closure extends Schema.TaggedClass<Closure>()("Closure", {
  name: Schema.String,
  env: Schema.Uint8Array
}) {
  override toString(): string {
    return `Closure(${this.name})`
  }
}

declare const ResultTypeId: unique symbol

/**
 * A closure whose body produces an `A`.
 * @since 0.1.0
 */
export interface TypedClosure<out A> extends Closure {
  readonly [ResultTypeId]?: () => A
}

/**
 * A definition in a remote table.
 * @since 0.1.0
 */
export interface Definition {
  readonly name: string
  /** decode an environment and build the process body; `None` if the bytes do not decode */
  readonly instantiate: (env: Uint8Array) => Option.Option<Effect.Effect<unknown, unknown, CurrentProcess>>
  /** the schema of the body's result, needed by `call` */
  readonly result: Schema.Top | undefined
  /** set for a task (see Task.ts): what the pattern slaves run for each item */
  readonly task?: TaskImpl | undefined
}

/**
 * A task as the pattern slaves see it: bytes in, bytes out. Items travel in batches, each batch's
 * inputs (or outputs) encoded as one array: one encoding per batch, not one per item.
 */
export interface TaskImpl {
  readonly encodeInputs: (inputs: ReadonlyArray<unknown>) => Uint8Array<ArrayBuffer>
  readonly decodeInputs: (bytes: Uint8Array) => Option.Option<ReadonlyArray<unknown>>
  readonly run: (input: unknown) => Effect.Effect<unknown, unknown>
  readonly encodeOutputs: (outputs: ReadonlyArray<unknown>) => Uint8Array<ArrayBuffer>
  readonly decodeOutputs: (bytes: Uint8Array) => Option.Option<ReadonlyArray<unknown>>
  /** a synchronous task (`Task.sync`): the function itself, run in a plain loop over a batch */
  readonly runSync?: ((input: unknown) => unknown) | undefined
}

/**
 * Definitions every node knows without being told: the library's own process bodies (the pattern
 * slaves). Modules that define them register them here when they are loaded.
 */
export const builtins = new Map<string, Definition>()

/**
 * The definitions a node can run, by name.
 * @since 0.1.0
 */
export class RemoteTable extends Context.Service<RemoteTable, ReadonlyMap<string, Definition>>()(
  "cloud-effect/RemoteTable"
) {}

/**
 * Identifies one `spawnAsync`.
 * @since 0.1.0
 */
export class SpawnRef extends Schema.TaggedClass<SpawnRef>()("SpawnRef", { requester: ProcessId, id: Schema.Int }) {}

/**
 * The reply to a `spawnAsync`: the process started.
 * @since 0.1.0
 */
export class DidSpawn extends Schema.TaggedClass<DidSpawn>()("DidSpawn", { ref: SpawnRef, pid: ProcessId }) {}

/**
 * The reply to a `spawnAsync`: the process could not be started.
 * @since 0.1.0
 */
export class SpawnFailed extends Schema.TaggedClass<SpawnFailed>()("SpawnFailed", {
  ref: SpawnRef,
  reason: Schema.String
}) {}

/**
 * The result of a `call`, encoded with the definition's result schema.
 * @since 0.1.0
 */
export class CallReply extends Schema.TaggedClass<CallReply>()("CallReply", {
  ref: SpawnRef,
  key: Schema.String,
  payload: Schema.Uint8Array
}) {}

/**
 * A `call` whose body failed.
 * @since 0.1.0
 */
export class CallFailed extends Schema.TaggedClass<CallFailed>()("CallFailed", {
  ref: SpawnRef,
  reason: Schema.String
}) {}

/**
 * The reply to `whereisRemoteAsync`.
 * @since 0.1.0
 */
export class WhereIsReply extends Schema.TaggedClass<WhereIsReply>()("WhereIsReply", {
  name: Schema.String,
  pid: Schema.NullOr(ProcessId)
}) {}

/**
 * The reply to `registerRemoteAsync`: `ok`, or the reason it failed.
 * @since 0.1.0
 */
export class RegisterReply extends Schema.TaggedClass<RegisterReply>()("RegisterReply", {
  name: Schema.String,
  ok: Schema.Boolean,
  error: Schema.NullOr(Schema.String)
}) {}

/**
 * What is known of a live process (see `Process.getProcessInfo`).
 * @since 0.1.0
 */
export class ProcessInfo extends Schema.TaggedClass<ProcessInfo>()("ProcessInfo", {
  node: NodeId,
  registeredNames: Schema.Array(Schema.String),
  messageQueueLength: Schema.Int,
  links: Schema.Array(ProcessId),
  monitors: Schema.Array(Schema.Tuple([ProcessId, MonitorRef]))
}) {}

/**
 * The reply to a remote `getProcessInfo`.
 * @since 0.1.0
 */
export class ProcessInfoReply extends Schema.TaggedClass<ProcessInfoReply>()("ProcessInfoReply", {
  id: Schema.Int,
  info: Schema.NullOr(ProcessInfo)
}) {}
