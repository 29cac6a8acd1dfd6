/**
 * The messages between a pattern's master and its slaves, and the pattern errors.
 * @internal
 */
import { Schema } from "effect"
import { ProcessId } from "../../ProcessId.ts"

/** one item of work: its id in the job and its encoded input */
export class WorkItem extends Schema.TaggedClass<WorkItem>()("cloud-effect/WorkItem", {
  id: Schema.Int,
  input: Schema.Uint8Array
}) {}

/** items for a slave */
export class Work extends Schema.TaggedClass<Work>()("cloud-effect/Work", {
  job: Schema.Int,
  /** the name of the task in the slave node's RemoteTable */
  task: Schema.String,
  items: Schema.Array(WorkItem)
}) {}

/** a work-stealing slave asks for up to `n` items */
export class Request extends Schema.TaggedClass<Request>()("cloud-effect/Request", {
  job: Schema.Int,
  slave: ProcessId,
  n: Schema.Int
}) {}

/** no work to give now (more may be pushed later, when another slave's items are retried) */
export class NoWork extends Schema.TaggedClass<NoWork>()("cloud-effect/NoWork", { job: Schema.Int }) {}

export class ItemDone extends Schema.TaggedClass<ItemDone>()("cloud-effect/ItemDone", {
  id: Schema.Int,
  output: Schema.Uint8Array
}) {}

export class ItemFailed extends Schema.TaggedClass<ItemFailed>()("cloud-effect/ItemFailed", {
  id: Schema.Int,
  error: Schema.String
}) {}

/** what a slave did with some items */
export class Results extends Schema.TaggedClass<Results>()("cloud-effect/Results", {
  job: Schema.Int,
  slave: ProcessId,
  done: Schema.Array(ItemDone),
  failed: Schema.Array(ItemFailed)
}) {}

/**
 * An item failed on every try (or its slave died on every try).
 * @since 0.1.0
 */
export class TaskFailed extends Schema.TaggedError<TaskFailed>()("TaskFailed", {
  task: Schema.String,
  item: Schema.Int,
  input: Schema.String,
  attempts: Schema.Int,
  error: Schema.String
}) {
  override get message(): string {
    return `task ${this.task} failed on item #${this.item} (${this.input}) after ${this.attempts} attempts: ${this.error}`
  }
}

/**
 * Every slave is gone (dead, or its node unreachable) while work remains.
 * @since 0.1.0
 */
export class NoSlavesLeft extends Schema.TaggedError<NoSlavesLeft>()("NoSlavesLeft", {
  task: Schema.String,
  pending: Schema.Int
}) {
  override get message(): string {
    return `no slave is left to run task ${this.task} (${this.pending} items unfinished)`
  }
}

/** @since 0.1.0 */
export type PatternError = TaskFailed | NoSlavesLeft
