/**
 * The messages between a pattern's master and its slaves.
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

/** the master's own wake-up: its Stream of inputs has some ready again (sent locally, never encoded) */
export class InputsReady extends Schema.TaggedClass<InputsReady>()("cloud-effect/InputsReady", { job: Schema.Int }) {}
