/**
 * The messages between a pattern's master and its slaves, and the pattern errors.
 * @internal
 */
import { Schema } from "effect"
import { ProcessId } from "../../ProcessId.ts"

/** an item (its id in the job) with its encoded input, or its encoded output */
export interface Packed {
  readonly id: number
  readonly bytes: Uint8Array
}

/**
 * Items travel packed in one byte array, `[id: u32][length: u32][bytes]` each: a batch of a
 * thousand small items is one field to encode, not a thousand validated objects.
 */
export const pack = (items: ReadonlyArray<Packed>): Uint8Array<ArrayBuffer> => {
  let size = 0
  for (const item of items) size += 8 + item.bytes.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let o = 0
  for (const item of items) {
    view.setUint32(o, item.id)
    view.setUint32(o + 4, item.bytes.length)
    out.set(item.bytes, o + 8)
    o += 8 + item.bytes.length
  }
  return out
}

/** the items of a packed array (views into it) */
export const unpack = (bytes: Uint8Array): Array<Packed> => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Array<Packed> = []
  for (let o = 0; o + 8 <= bytes.length; ) {
    const id = view.getUint32(o)
    const length = view.getUint32(o + 4)
    out.push({ id, bytes: bytes.subarray(o + 8, o + 8 + length) })
    o += 8 + length
  }
  return out
}

/** items for a slave */
export class Work extends Schema.TaggedClass<Work>()("cloud-effect/Work", {
  job: Schema.Int,
  /** the name of the task in the slave node's RemoteTable */
  task: Schema.String,
  /** packed items (see `pack`) */
  items: Schema.Uint8Array
}) {}

/** a work-stealing slave asks for up to `n` items */
export class Request extends Schema.TaggedClass<Request>()("cloud-effect/Request", {
  job: Schema.Int,
  slave: ProcessId,
  n: Schema.Int
}) {}

/** no work to give now (more may be pushed later, when another slave's items are retried) */
export class NoWork extends Schema.TaggedClass<NoWork>()("cloud-effect/NoWork", { job: Schema.Int }) {}

export class ItemFailed extends Schema.TaggedClass<ItemFailed>()("cloud-effect/ItemFailed", {
  id: Schema.Int,
  error: Schema.String
}) {}

/** what a slave did with some items */
export class Results extends Schema.TaggedClass<Results>()("cloud-effect/Results", {
  job: Schema.Int,
  slave: ProcessId,
  /** packed outputs (see `pack`) */
  done: Schema.Uint8Array,
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
