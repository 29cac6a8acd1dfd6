/**
 * The messages between a pattern's master and its slaves, and the pattern errors.
 * @internal
 */
import { Schema } from "effect"
import { ProcessId } from "../../ProcessId.ts"

/**
 * A batch of items for a slave: their inputs encoded as one array (see `TaskImpl`). The master knows
 * which items the batch holds; the slave answers with the batch's id.
 */
export class Work extends Schema.TaggedClass<Work>()("cloud-effect/Work", {
  job: Schema.Int,
  /** the name of the task in the slave node's RemoteTable */
  task: Schema.String,
  /** the batch's id in the job */
  batch: Schema.Int,
  /** the encoded array of inputs */
  inputs: Schema.Uint8Array
}) {}

/** a work-stealing slave asks for a batch of up to `n` items (later batches are asked for with its `Results`) */
export class Request extends Schema.TaggedClass<Request>()("cloud-effect/Request", {
  job: Schema.Int,
  slave: ProcessId,
  n: Schema.Int
}) {}

/** no work to give now (more may be pushed later, when another slave's items are retried) */
export class NoWork extends Schema.TaggedClass<NoWork>()("cloud-effect/NoWork", { job: Schema.Int }) {}

/** an item of a batch that failed: its position in the batch (-1: every item, e.g. the inputs did not decode) */
export class ItemFailed extends Schema.TaggedClass<ItemFailed>()("cloud-effect/ItemFailed", {
  index: Schema.Int,
  error: Schema.String
}) {}

/** what a slave did with a batch */
export class Results extends Schema.TaggedClass<Results>()("cloud-effect/Results", {
  job: Schema.Int,
  slave: ProcessId,
  batch: Schema.Int,
  /** the encoded array of outputs of the items that did not fail, in the batch's order */
  outputs: Schema.Uint8Array,
  failed: Schema.Array(ItemFailed),
  /** work-stealing: the results also ask for a next batch of up to this many items (0: no) */
  next: Schema.Int
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

/**
 * An input its task's schema refuses (it cannot be encoded for a slave): the job fails at once, since
 * no try could succeed. `index` is its position in the job's inputs.
 * @since 0.1.0
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  task: Schema.String,
  index: Schema.Int,
  input: Schema.String,
  error: Schema.String
}) {
  override get message(): string {
    return `task ${this.task}: input #${this.index} (${this.input}) does not encode: ${this.error}`
  }
}

/** @since 0.1.0 */
export type PatternError = TaskFailed | NoSlavesLeft | InvalidInput
