/**
 * A pool of slaves as a service: pick a strategy once, as a Layer, and submit many jobs. With
 * work-stealing and work-pushing the slave processes stay up between jobs (one per node, started
 * with the first job and replaced when one dies); jobs run one at a time, in submission order. A
 * job submitted from inside one of the pool's jobs while it runs (a pipeline: a `mapStream` whose
 * inputs are another `mapStream` of the pool; an `onProgress` that submits one; a fiber they start)
 * cannot wait for the job it feeds to end: it runs at once, on a process and slaves of its own on
 * the same nodes. A consumer of a `mapStream` is not inside its job: if it submits jobs to the
 * same pool while the stream runs, they wait for the stream's job, which waits for the consumer
 * once 1,024 outputs are queued; write that stage as a `mapStream` of the first, or use a second pool.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { PrimeFactors, WorkPool } from "cloud-effect"
 *
 * const job = Effect.gen(function*() {
 *   const pool = yield* WorkPool.WorkPool
 *   return yield* pool.reduce(PrimeFactors.primes, PrimeFactors.range(1, 10_000), PrimeFactors.sum)
 * })
 * // provide WorkPool.layer({ strategy: "workStealing", nodes }) on a node: Node.layer(...)
 * ```
 * @since 0.1.0
 */
import { Context, Effect, Fiber, Layer, PubSub, Schema, Semaphore, Stream } from "effect"
import { CurrentNode, CurrentProcess } from "../internal/context.ts"
import type { LocalNode } from "../internal/node.ts"
import { InvalidOptions, type PatternError } from "../internal/patterns/errors.ts"
import {
  defaultRetries,
  defaultTargetMillis,
  invalidOption,
  makePool,
  type Pool,
  type Progress,
  type Reducer,
  reduceJob,
  runJob,
  type Strategy,
  streamJob
} from "../internal/patterns/master.ts"
import { describeValue } from "../internal/patterns/options.ts"
import { start } from "../internal/spawn.ts"
import { ProcessDied, runProcess } from "../Node.ts"
import type { NodeId } from "../NodeId.ts"
import { DiedReason } from "../Notification.ts"
import { ProcessId } from "../ProcessId.ts"
import type { Task } from "../Task.ts"

export * from "../internal/patterns/errors.ts"
export type { Progress, Reducer }

/** a pool's job while it runs: the fibers it starts (and theirs) inherit it */
interface RunningJob {
  readonly pool: Pool
  running: boolean
}

/** the pools' jobs the current fiber was started in */
const InPoolJob = Context.Reference<ReadonlyArray<RunningJob>>("cloud-effect/WorkPool/InPoolJob", {
  defaultValue: () => []
})

/**
 * The pool's master process died (it was killed or exited from outside, or the pool's node shut
 * down): the job running then fails with it, and so does every later job of the pool. Its slaves
 * die with it (they link to it). A job submitted from inside another job runs on a process of its
 * own (see `layer`): if that process dies, that job fails with this error naming it.
 * @since 0.1.0
 */
export class PoolMasterDied extends Schema.TaggedError<PoolMasterDied>()("PoolMasterDied", {
  pid: ProcessId,
  reason: DiedReason
}) {
  override get message(): string {
    const why = this.reason._tag === "DiedException" ? `${this.reason._tag}: ${this.reason.error}` : this.reason._tag
    return `the pool's master process ${this.pid} died (${why})`
  }
}

/**
 * The pool service.
 * @since 0.1.0
 */
export class WorkPool extends Context.Service<
  WorkPool,
  {
    /** run `task` on every input and fold the outputs */
    readonly reduce: <I, O, A, E = never, R = never>(
      task: Task<I, O>,
      inputs: Iterable<I> | Stream.Stream<I, E, R>,
      reducer: Reducer<O, A>
    ) => Effect.Effect<A, PatternError | PoolMasterDied | E, R>
    /** run `task` on every input; the outputs in input order */
    readonly map: <I, O>(
      task: Task<I, O>,
      inputs: Iterable<I>
    ) => Effect.Effect<Array<O>, PatternError | PoolMasterDied>
    /** the progress of the pool's jobs, for UIs (each subscriber sees the updates after it subscribed) */
    readonly progress: Stream.Stream<Progress>
    /** run `task` on every input; the outputs as a Stream, in completion order */
    readonly mapStream: <I, O, E = never, R = never>(
      task: Task<I, O>,
      inputs: Iterable<I> | Stream.Stream<I, E, R>
    ) => Stream.Stream<O, PatternError | PoolMasterDied | E, R>
  }
>()("cloud-effect/WorkPool") {}

/**
 * How a pool hands out work: the options of `WorkStealing`, `WorkPushing` or `MasterSlave`, with the
 * same ranges. Options that make no sense, here or in `retries`, fail the layer with
 * `InvalidOptions` before it starts anything.
 * @since 0.1.0
 */
export type StrategyOptions =
  | {
      readonly strategy: "workStealing"
      readonly prefetch?: boolean
      readonly batch?: number
      readonly targetMillis?: number
    }
  | { readonly strategy: "workPushing"; readonly window?: number }
  | { readonly strategy: "masterSlave"; readonly concurrency?: number }

/**
 * Options of a pool.
 * @since 0.1.0
 */
export type Options = StrategyOptions & {
  /** the slave nodes */
  readonly nodes: ReadonlyArray<NodeId>
  /** retries per item (default 3; an integer >= 0, or Infinity) */
  readonly retries?: number
  /** called as items complete */
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
}

const strategyOf = (options: Options): Strategy | InvalidOptions => {
  switch (options.strategy) {
    case "workStealing":
      return {
        _tag: "steal",
        prefetch: options.prefetch ?? true,
        batch: options.batch ?? 0,
        targetMillis: options.targetMillis ?? defaultTargetMillis
      }
    case "workPushing":
      return { _tag: "push", window: options.window ?? 2 }
    case "masterSlave":
      return { _tag: "masterSlave", concurrency: options.concurrency ?? Math.max(1, 2 * options.nodes.length) }
    default:
      // (from JavaScript, or a value the types did not see)
      return new InvalidOptions({
        option: "strategy",
        value: describeValue((options as { readonly strategy: unknown }).strategy),
        expected: '"workStealing", "workPushing" or "masterSlave"'
      })
  }
}

/**
 * A pool on the current node: a master process that lives as long as the layer, and (for
 * work-stealing and work-pushing) its slaves on the nodes. Closing the layer kills them all. The
 * layer fails with `InvalidOptions` for options that make no sense.
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<WorkPool, InvalidOptions, CurrentNode> =>
  Layer.effect(
    WorkPool,
    Effect.gen(function* () {
      const strategy = strategyOf(options)
      if (strategy instanceof InvalidOptions) return yield* strategy
      const invalid = invalidOption(options.retries ?? defaultRetries, strategy)
      if (invalid !== undefined) return yield* invalid
      const node = (yield* CurrentNode) as LocalNode
      const pool = makePool()
      const lock = yield* Semaphore.make(1)
      // the pool's master: a process that only holds the mailbox the jobs run on
      const [master, fiber] = yield* start(node, Effect.never)
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          for (const slave of pool.slaves.values()) node.kill(master.self, slave.pid, "the pool is closed")
          fiber.interruptUnsafe()
        })
      )
      // a job races the master's death: a master killed from outside fails the job instead of
      // leaving it waiting on a mailbox that is gone
      const masterDied = Effect.flatMap(Fiber.await(fiber), (exit) =>
        Effect.fail(new PoolMasterDied({ pid: master.self, reason: node.reasonOf(master, exit) }))
      )
      /**
       * Run a job: on the pool's master with the pool's slaves, one job at a time; or, for a job
       * submitted from inside one of this pool's jobs while it runs (its inputs are another
       * `mapStream` of the pool, its `onProgress` submits one, or a fiber they started does), which
       * the running job may be waiting for, at once, as a job of its own on a process and slaves
       * of its own (a process that dies then fails it with `PoolMasterDied` naming that process).
       */
      const inMaster = <A, E, R>(jobWith: (pool: Pool | undefined) => Effect.Effect<A, E, R>) =>
        Effect.flatMap(Effect.service(InPoolJob), (outer) => {
          const job: RunningJob = { pool, running: true }
          const done = Effect.sync(() => {
            job.running = false
          })
          if (outer.some((j) => j.pool === pool && j.running)) {
            // (a nested job is a running job of the pool too, for what it submits in turn)
            return runProcess(jobWith(undefined)).pipe(
              Effect.mapError((e) =>
                e instanceof ProcessDied ? new PoolMasterDied({ pid: e.pid, reason: e.reason }) : e
              ),
              Effect.provideService(CurrentNode, node),
              Effect.provideService(InPoolJob, [...outer, job]),
              Effect.ensuring(done)
            )
          }
          return Effect.raceFirst(
            lock.withPermit(
              jobWith(pool).pipe(
                Effect.provideService(CurrentProcess, master),
                Effect.provideService(InPoolJob, [...outer, job]),
                Effect.ensuring(done)
              )
            ),
            masterDied
          )
        }) as Effect.Effect<A, E | PoolMasterDied, Exclude<R, CurrentProcess>>
      const updates = yield* PubSub.sliding<Progress>(64)
      const common = {
        nodes: options.nodes,
        retries: options.retries,
        onProgress: (p: Progress) =>
          Effect.andThen(
            PubSub.publish(updates, p),
            options.onProgress === undefined ? Effect.void : options.onProgress(p)
          )
      }
      return WorkPool.of({
        progress: Stream.fromPubSub(updates),
        reduce: (task, inputs, reducer) =>
          inMaster((state) => reduceJob({ ...common, task, inputs }, strategy, reducer, state)),
        map: <I, O>(task: Task<I, O>, inputs: Iterable<I>) =>
          inMaster((state) =>
            Effect.suspend(() => {
              const out: Array<unknown> = []
              return runJob(
                { ...common, task, inputs },
                strategy,
                (outputs, indices) =>
                  Effect.sync(() => {
                    for (let i = 0; i < outputs.length; i++) out[indices[i]!] = outputs[i]
                  }),
                state
              ).pipe(Effect.as(out as Array<O>))
            })
          ) as Effect.Effect<Array<O>, PatternError | PoolMasterDied>,
        mapStream: <I, O, E, R>(task: Task<I, O>, inputs: Iterable<I> | Stream.Stream<I, E, R>) =>
          // (the wrapper adds PoolMasterDied to the stream's errors)
          streamJob({ ...common, task, inputs }, strategy, inMaster as never) as Stream.Stream<
            O,
            PatternError | PoolMasterDied | E,
            R
          >
      })
    })
  )
