/**
 * Tasks: the unit of work of the communication patterns. A task is a remotable, Schema-typed
 * function `input -> Effect<output>`, defined once under a unique name and given to every node in
 * its `RemoteTable` (a task is a `Remote.Definition`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Remote, Task } from "cloud-effect"
 * export const double = Task.define("double", Schema.Int, Schema.Int, (n) => Effect.succeed(2 * n))
 * export const remoteTable = Remote.table(double)
 * ```
 * @since 0.1.0
 */
import { Effect, Option, Schema } from "effect"
import type { Definition, TaskImpl } from "./internal/closure.ts"
import * as Message from "./Message.ts"

/**
 * A task from `I` to `O`.
 * @since 0.1.0
 */
export interface Task<in out I, in out O> extends Definition {
  readonly name: string
  readonly input: Schema.Codec<I, unknown>
  readonly output: Schema.Codec<O, unknown>
  readonly task: TaskImpl
  /** run it here, without messaging (the sequential reference) */
  readonly run: (input: I) => Effect.Effect<O, unknown>
}

/** the binary encoder returns views of a reused arena: a copy that owns its buffer */
const owned = (bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()

/**
 * Define a task. `run` may fail; the patterns retry a failed item and fail with `TaskFailed` when
 * it fails on every try. The services `run` needs must be in the context of the nodes that run it.
 * @since 0.1.0
 */
export const define = <I, II, O, OI, E>(
  name: string,
  input: Schema.Codec<I, II>,
  output: Schema.Codec<O, OI>,
  run: (input: I) => Effect.Effect<O, E>
): Task<I, O> => make(name, input, output, run, undefined)

/**
 * Define a synchronous task: a plain function, with no services and no failures but thrown errors
 * (which fail the item, like a defect of an effectful task). The pattern slaves run a batch of its
 * items in a plain loop instead of an effect per item, so a task of microseconds costs next to
 * nothing more than the function itself. Interruption takes effect between batches, not within
 * one (batches are short: see the patterns' batch options).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "cloud-effect"
 * export const square = Task.sync("square", Schema.Int, Schema.Int, (n) => n * n)
 * ```
 * @since 0.1.0
 */
export const sync = <I, II, O, OI>(
  name: string,
  input: Schema.Codec<I, II>,
  output: Schema.Codec<O, OI>,
  f: (input: I) => O
): Task<I, O> => make(name, input, output, (i: I) => Effect.sync(() => f(i)), f)

const make = <I, II, O, OI, E>(
  name: string,
  input: Schema.Codec<I, II>,
  output: Schema.Codec<O, OI>,
  run: (input: I) => Effect.Effect<O, E>,
  runSync: ((input: I) => O) | undefined
): Task<I, O> => {
  const inCodec = Message.infoOf(Schema.Array(input)).codec()
  const outCodec = Message.infoOf(Schema.Array(output)).codec()
  const encodeIn = Schema.encodeSync(inCodec)
  const decodeIn = Schema.decodeUnknownOption(inCodec)
  const encodeOut = Schema.encodeSync(outCodec)
  const decodeOut = Schema.decodeUnknownOption(outCodec)
  const impl: TaskImpl = {
    encodeInputs: (values) => owned(encodeIn(values)),
    decodeInputs: (bytes) => decodeIn(bytes) as Option.Option<ReadonlyArray<unknown>>,
    run: run as (input: unknown) => Effect.Effect<unknown, unknown>,
    encodeOutputs: (values) => owned(encodeOut(values)),
    decodeOutputs: (bytes) => decodeOut(bytes) as Option.Option<ReadonlyArray<unknown>>,
    runSync: runSync as ((input: unknown) => unknown) | undefined
  }
  return {
    name,
    input: input as unknown as Schema.Codec<I, unknown>,
    output: output as unknown as Schema.Codec<O, unknown>,
    task: impl,
    run,
    // a task is not a process body: spawning it by name is refused
    instantiate: () => Option.none(),
    result: output
  }
}
