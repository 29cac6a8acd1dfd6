/**
 * The slave processes of the patterns, as built-in remote definitions (every node knows them).
 * Each slave links to its master first, so it dies with it (exercises 1 and 3), then serves the
 * items of its master's jobs, running the task each `Work` names from its node's RemoteTable (so a
 * `WorkPool` keeps its slaves up across jobs of different tasks).
 * @internal
 */
import { Cause, Effect, Option, Schema } from "effect"
import * as Message from "../../Message.ts"
import * as Process from "../../Process.ts"
import { ProcessId } from "../../ProcessId.ts"
import { builtins, Closure, type Definition, type TaskImpl } from "../closure.ts"
import { withProcess } from "../context.ts"
import { ItemFailed, NoWork, Request, Results, Work } from "./messages.ts"

const describeCause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const e = error.value
    if (e instanceof Error) {
      const tag = (e as { readonly _tag?: unknown })._tag
      const fields = Object.entries(e)
        .filter(([k]) => k !== "_tag")
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(", ")
      return `${typeof tag === "string" ? tag : e.name}: ${e.message || fields}`
    }
    return String(e)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "failed"
}

const taskOf = (name: string): Effect.Effect<TaskImpl | undefined, never, Process.Process> =>
  withProcess((s) => Effect.succeed(s.node.definition(name)?.task))

/**
 * A synchronous task on each input: a plain loop (no effect per item), outside any generator.
 *
 * The task is called through `Reflect.apply`, which V8's mid tier (Maglev) does not inline. Inlined
 * into this loop's Maglev code, the task's own loops could not be replaced while they ran (on-stack
 * replacement targets only the outer function's loops), and this loop, entered once per batch, runs
 * too rarely to be recompiled by Turbofan: the task ran at Maglev's speed for the whole job (on
 * `primes`, a work-stealing job took 2,822 ms against 2,570 with inlining turned off). Called apart,
 * the task is compiled on its own and reaches Turbofan, as it does under Piscina.
 */
const runSyncItems = (
  f: (input: unknown) => unknown,
  items: ReadonlyArray<unknown>,
  outputs: Array<unknown>,
  failed: Array<ItemFailed>
): void => {
  const args: [unknown] = [undefined]
  for (let i = 0; i < items.length; i++) {
    args[0] = items[i]
    try {
      outputs.push(Reflect.apply(f, undefined, args))
    } catch (error) {
      failed.push(new ItemFailed({ index: i, error: describeCause(Cause.die(error)) }))
    }
  }
}

/**
 * A batch's outputs, encoded as one array. An output its schema refuses fails its own item (found
 * by encoding the outputs one by one), not the batch and not the slave: the item is retried, then
 * named by `TaskFailed`, as if the task had failed on it.
 */
const encodeOutputs = (
  task: TaskImpl,
  outputs: ReadonlyArray<unknown>,
  failed: Array<ItemFailed>,
  count: number
): Uint8Array => {
  try {
    return task.encodeOutputs(outputs)
  } catch {
    const failedAt = new Set(failed.map((f) => f.index))
    const kept: Array<unknown> = []
    let o = 0
    for (let i = 0; i < count; i++) {
      if (failedAt.has(i)) continue
      const output = outputs[o++]
      try {
        task.encodeOutputs([output])
        kept.push(output)
      } catch (error) {
        const reason = describeCause(Cause.die(error)).split("\n")[0]
        failed.push(new ItemFailed({ index: i, error: `its output does not encode: ${reason}` }))
      }
    }
    return task.encodeOutputs(kept)
  }
}

/**
 * Run the task on each input of a batch: the outputs of the items that did not fail (encoded as one
 * array) and the failures by position; interruption is not caught.
 */
const runBatch = (name: string, encoded: Uint8Array) =>
  Effect.gen(function* () {
    const task = yield* taskOf(name)
    if (task === undefined) {
      return {
        outputs: new Uint8Array(0),
        failed: [new ItemFailed({ index: -1, error: `no task ${JSON.stringify(name)} in this node's RemoteTable` })],
        count: 0
      }
    }
    const inputs = task.decodeInputs(encoded)
    if (Option.isNone(inputs)) {
      return {
        outputs: new Uint8Array(0),
        failed: [new ItemFailed({ index: -1, error: "the inputs do not decode" })],
        count: 0
      }
    }
    const outputs: Array<unknown> = []
    const failed: Array<ItemFailed> = []
    const items = inputs.value
    if (task.runSync !== undefined) {
      runSyncItems(task.runSync, items, outputs, failed)
      return { outputs: encodeOutputs(task, outputs, failed, items.length), failed, count: items.length }
    }
    for (let i = 0; i < items.length; i++) {
      const exit = yield* Effect.exit(task.run(items[i]))
      if (exit._tag === "Success") {
        outputs.push(exit.value)
      } else if (Cause.hasInterruptsOnly(exit.cause)) {
        return yield* Effect.interrupt
      } else {
        failed.push(new ItemFailed({ index: i, error: describeCause(exit.cause) }))
      }
    }
    return { outputs: encodeOutputs(task, outputs, failed, items.length), failed, count: items.length }
  })

/** env of a work-stealing slave */
export class StealEnv extends Schema.TaggedClass<StealEnv>()("cloud-effect/StealEnv", {
  master: ProcessId,
  job: Schema.Int,
  prefetch: Schema.Boolean,
  /** a fixed batch size, or 0 for adaptive */
  batch: Schema.Int,
  /** adaptive batches aim at this much work per batch */
  targetMillis: Schema.Number
}) {}

/** env of a work-pushing slave */
export class PushEnv extends Schema.TaggedClass<PushEnv>()("cloud-effect/PushEnv", {
  master: ProcessId,
  job: Schema.Int
}) {}

/** env of a master-slave item process */
export class ItemEnv extends Schema.TaggedClass<ItemEnv>()("cloud-effect/ItemEnv", {
  master: ProcessId,
  job: Schema.Int,
  task: Schema.String,
  batch: Schema.Int,
  /** the item's input, encoded as a batch of one */
  input: Schema.Uint8Array
}) {}

const MAX_BATCH = 1024

const stealSlave = (env: StealEnv) =>
  Effect.gen(function* () {
    yield* Process.link(env.master)
    const self = yield* Process.self
    let n = env.batch > 0 ? env.batch : 1
    let perItem = 0 // smoothed milliseconds per item
    // a prefetching slave keeps two batches asked for: the one it runs and the next, which arrives
    // while it works; each batch's results ask for one more batch, so a batch costs the master one
    // message from the slave, not two
    const ask = new Request({ job: env.job, slave: self, n })
    yield* Process.send(env.master, ask)
    if (env.prefetch) yield* Process.send(env.master, ask)
    while (true) {
      const work = yield* Process.receiveWait(
        Process.matchIf(
          Work,
          (w) => w.job === env.job,
          (w) => Effect.succeed(w)
        ),
        Process.matchIf(
          NoWork,
          (w) => w.job === env.job,
          () => Effect.succeed(undefined)
        )
      )
      if (work === undefined) continue // idle: the master pushes retried items, or ends the job
      const start = performance.now()
      const { outputs, failed, count } = yield* runBatch(work.task, work.inputs)
      if (env.batch === 0 && count > 0) {
        // the time per item: a slower batch is believed at once (items may get dearer along the
        // inputs), a faster one only in part; and a request is at most twice the larger of the last
        // batch and the last request, since the first items may be far cheaper than the rest (a
        // batch sized from them held a third of a job, and left the other slave idle at its end),
        // while a batch the master cut short (the end of a job, a retried item) does not shrink it
        const sample = (performance.now() - start) / count
        perItem = perItem === 0 || sample > perItem ? sample : perItem * 0.7 + sample * 0.3
        const grown = 2 * Math.max(count, n)
        n = Math.max(1, Math.min(MAX_BATCH, grown, Math.round(env.targetMillis / Math.max(perItem, 1e-3))))
      }
      yield* Process.send(
        env.master,
        new Results({ job: env.job, slave: self, batch: work.batch, outputs, failed, next: n })
      )
      // let the results (and the request they carry) leave now: a transport that sends on a later
      // tick (worker threads batch per microtask) would otherwise hold them while the next batch,
      // already here, runs; the master would then answer late, and prefetch would hide nothing
      yield* Effect.yieldNow
    }
  })

const pushSlave = (env: PushEnv) =>
  Effect.gen(function* () {
    yield* Process.link(env.master)
    const self = yield* Process.self
    while (true) {
      const work = yield* Process.expect(Work)
      if (work.job !== env.job) continue
      const { outputs, failed } = yield* runBatch(work.task, work.inputs)
      yield* Process.send(
        env.master,
        new Results({ job: env.job, slave: self, batch: work.batch, outputs, failed, next: 0 })
      )
      // as in work-stealing: the results leave before the next item (already in the mailbox when
      // the window is above 1) runs, so the master refills the window while this slave works
      yield* Effect.yieldNow
    }
  })

const itemProcess = (env: ItemEnv) =>
  Effect.gen(function* () {
    yield* Process.link(env.master)
    const self = yield* Process.self
    const { outputs, failed } = yield* runBatch(env.task, env.input)
    yield* Process.send(
      env.master,
      new Results({ job: env.job, slave: self, batch: env.batch, outputs, failed, next: 0 })
    )
  })

const builtin = <E extends { readonly _tag: string }>(
  name: string,
  env: Schema.Codec<E, unknown>,
  body: (env: E) => Effect.Effect<unknown, unknown, Process.Process>
) => {
  const codec = Message.infoOf(env).codec()
  const definition: Definition = {
    name,
    instantiate: (bytes) =>
      Option.map(Schema.decodeUnknownOption(codec)(bytes), (e) => Effect.suspend(() => body(e as E))),
    result: undefined
  }
  builtins.set(name, definition)
  return (value: E) => new Closure({ name, env: Schema.encodeSync(codec)(value) })
}

export const stealClosure = builtin("cloud-effect/patterns/steal", StealEnv, stealSlave)
export const pushClosure = builtin("cloud-effect/patterns/push", PushEnv, pushSlave)
export const itemClosure = builtin("cloud-effect/patterns/item", ItemEnv, itemProcess)
