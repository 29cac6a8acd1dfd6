/**
 * Master-slave: the master spawns one process per item, round-robin on the nodes; each sends its
 * result back and ends. At most `concurrency` item processes are alive at once, so memory stays
 * bounded for any number of items.
 *
 * @example
 * ```ts
 * import { type NodeId, MasterSlave, PrimeFactors } from "cloud-effect"
 * // in a process on the master node:
 * const sum = (nodes: ReadonlyArray<NodeId.NodeId>) =>
 *   MasterSlave.run({
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
 * Options of master-slave.
 * @since 0.1.0
 */
export interface Options {
  /** at most this many item processes alive at once (default: 2 per node; an integer >= 1) */
  readonly concurrency?: number | undefined
}

const strategy = (options: Options & { readonly nodes: ReadonlyArray<unknown> }): Strategy => ({
  _tag: "masterSlave",
  concurrency: options.concurrency ?? Math.max(1, 2 * options.nodes.length)
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
