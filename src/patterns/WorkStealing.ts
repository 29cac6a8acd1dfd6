/**
 * Work-stealing: one slave process per node asks the master (the work queue) for work whenever it
 * is free, so fast slaves take more and the load balances itself. With `prefetch` a slave asks for
 * its next batch before it starts the current one, hiding the request's round trip (the blog's
 * exercise 4); batches adapt to the task's cost so that messaging stays small against the work.
 *
 * @example
 * ```ts
 * import { type NodeId, PrimeFactors, WorkStealing } from "cloud-effect"
 * // in a process on the master node:
 * const sum = (nodes: ReadonlyArray<NodeId.NodeId>) =>
 *   WorkStealing.run({
 *     task: PrimeFactors.primes,
 *     inputs: PrimeFactors.range(1, 10_000),
 *     nodes,
 *     reduce: PrimeFactors.sum
 *   }) // 31985
 * ```
 * @since 0.1.0
 */
import type { Effect, Stream } from "effect"
import type { PatternError } from "../internal/patterns/errors.ts"
import {
  defaultTargetMillis,
  type Job,
  type Progress,
  type Reducer,
  reduceJob,
  type Strategy,
  streamJob
} from "../internal/patterns/master.ts"
import type * as Process from "../Process.ts"

export * from "../internal/patterns/errors.ts"
export type { Job, Progress, Reducer }

/**
 * Options of work-stealing.
 * @since 0.1.0
 */
export interface Options {
  /** ask for the next batch before working on the current one (default true) */
  readonly prefetch?: boolean | undefined
  /**
   * a fixed batch size (an integer >= 1); by default (or 0) batches adapt so that each holds about
   * `targetMillis` of work
   */
  readonly batch?: number | undefined
  /** the work per adaptive batch, in milliseconds (default 100; > 0) */
  readonly targetMillis?: number | undefined
}

const strategy = (options: Options): Strategy => ({
  _tag: "steal",
  prefetch: options.prefetch ?? true,
  batch: options.batch ?? 0,
  targetMillis: options.targetMillis ?? defaultTargetMillis
})

/**
 * Run the task on every input and fold the outputs.
 * @since 0.1.0
 */
export const run = <I, O, A, E = never, R = never>(
  job: Job<I, O, E, R> & Options & { readonly reduce: Reducer<O, A> }
): Effect.Effect<A, PatternError | E, R | Process.Process> => reduceJob(job, strategy(job), job.reduce)

/**
 * Run the task on every input; the outputs as a Stream, in completion order.
 * @since 0.1.0
 */
export const stream = <I, O, E = never, R = never>(
  job: Job<I, O, E, R> & Options
): Stream.Stream<O, PatternError | E, R | Process.Process> => streamJob(job, strategy(job))
