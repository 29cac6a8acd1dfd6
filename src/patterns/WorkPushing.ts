/**
 * Work-pushing: one slave process per node; the master pushes items into their mailboxes, in turn,
 * keeping at most `window` items outstanding per slave (the blog's exercise 2: the master knows
 * which slave answered, so it can bound each mailbox).
 *
 * @example
 * ```ts
 * import { type NodeId, PrimeFactors, WorkPushing } from "cloud-effect"
 * // in a process on the master node:
 * const sum = (nodes: ReadonlyArray<NodeId.NodeId>) =>
 *   WorkPushing.run({
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
 * Options of work-pushing.
 * @since 0.1.0
 */
export interface Options {
  /** at most this many items waiting in (or being worked on by) one slave (default 2; an integer >= 1) */
  readonly window?: number | undefined
}

const strategy = (options: Options): Strategy => ({ _tag: "push", window: options.window ?? 2 })

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
