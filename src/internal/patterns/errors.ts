/**
 * The typed errors of the patterns (each pattern module and \`WorkPool\` re-exports them).
 * @internal
 */
import { Schema } from "effect"

/**
 * An item failed on every try (or its slave died on every try): `item` is its position in the
 * job's inputs (from 0), as `InvalidInput`'s `index` is.
 * @since 0.1.0
 */
export class TaskFailed extends Schema.TaggedError<TaskFailed>()("TaskFailed", {
  task: Schema.String,
  /** the item's position in the job's inputs, from 0 */
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
 * Every slave is gone (dead, or its node unreachable, or the job was given none) while work
 * remains: `pending` items not done (handed out, retried, or not handed out yet when their number
 * is known), and `unread` when the inputs (an iterable or a Stream) may hold more not yet read.
 * Without a slave an iterable or a Stream is not read at all, so a job given no nodes fails with it
 * even if they are empty (an empty array needs no slave).
 * @since 0.1.0
 */
export class NoSlavesLeft extends Schema.TaggedError<NoSlavesLeft>()("NoSlavesLeft", {
  task: Schema.String,
  pending: Schema.Int,
  unread: Schema.Boolean
}) {
  override get message(): string {
    const items = `${this.pending} item${this.pending === 1 ? "" : "s"} unfinished`
    // (unread: the end of the inputs was not reached; there may be none left)
    const left = !this.unread ? items : this.pending === 0 ? "inputs not read" : `${items}, and more inputs may remain`
    return `no slave is left to run task ${this.task} (${left})`
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

/**
 * An option of the pattern (or pool) that makes no sense, e.g. a `window` of 0 or `retries` of NaN:
 * the job fails before it starts anything.
 * @since 0.1.0
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  option: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `option ${this.option} is ${this.value}: expected ${this.expected}`
  }
}

/**
 * How a pattern's job can fail (besides the errors of its inputs' Stream): an item failed on every
 * try, no slave is left, an input the task's schema refuses, or options that make no sense.
 * @since 0.1.0
 */
export type PatternError = TaskFailed | NoSlavesLeft | InvalidInput | InvalidOptions
