/**
 * The blog's work-stealing program, written with the process API (not the `WorkStealing` module):
 * a work-queue process on the master node hands out the numbers 1..n, one per request; each slave
 * asks for work by sending its pid, and takes either the next number (and answers the master with
 * its numPrimeFactors) or `NoMoreWork` (and ends). A fast slave asks more often, so it gets more
 * work: the load balances itself. Compare with `WorkStealing.run` (docs/recipes/work-stealing.md).
 *
 * As in the blog, a slave waits for a round trip to the queue before each number (exercise 4:
 * docs/recipes/exercise-4-hide-latency.md).
 *
 * Run: npx -c 'node examples/work-stealing.ts'          (n = 10,000: the sum is 31,985)
 *  or: npx -c 'node examples/work-stealing.ts 1000'     (n = 1,000: 2,877; n goes inside the quotes)
 *
 * This file is both the main program and the module every worker thread loads for its
 * `remoteTable`: the main program starts only in the main thread.
 */
import { isMainThread } from "node:worker_threads"
import { NodeRuntime } from "@effect/platform-node"
import { Backend, type NodeId, PrimeFactors, Process, ProcessId, Remote } from "cloud-effect"
import { Console, Duration, Effect, Schema } from "effect"

/** The work queue's answer once every number has been handed out. */
export class NoMoreWork extends Schema.TaggedClass<NoMoreWork>()("examples/work-stealing/NoMoreWork", {}) {}

/** The slave: its closure environment is the master's pid and the work queue's pid. */
export const slave = Remote.define(
  "examples/work-stealing/slave",
  Schema.Struct({ master: ProcessId.ProcessId, workQueue: ProcessId.ProcessId }),
  ({ master, workQueue }) =>
    Effect.gen(function* () {
      const us = yield* Process.self
      let more = true
      while (more) {
        // ask the queue for work
        yield* Process.send(workQueue, us)
        // if there is work, do it and ask again; otherwise end
        more = yield* Process.receiveWait(
          Process.match(Schema.Int, (n) => Effect.as(Process.send(master, PrimeFactors.numPrimeFactors(n)), true)),
          Process.match(NoMoreWork, () => Effect.succeed(false))
        )
      }
    })
)

/** The definitions every node (master and slaves) knows by name. */
export const remoteTable = Remote.table(slave)

/** The work queue: answer each request with the next number, then with `NoMoreWork`, forever. */
const workQueue = (n: number) =>
  Effect.gen(function* () {
    for (let m = 1; m <= n; m++) {
      const them = yield* Process.expect(ProcessId.ProcessId)
      yield* Process.send(them, m)
    }
    return yield* Effect.forever(
      Effect.flatMap(Process.expect(ProcessId.ProcessId), (them) => Process.send(them, new NoMoreWork()))
    )
  })

/** Wait for n numbers and add them up. */
const sumIntegers = (n: number) =>
  Effect.gen(function* () {
    let acc = 0
    for (let i = 0; i < n; i++) acc += yield* Process.expect(Schema.Int)
    return acc
  })

/** The master: a local work queue, one slave per node, then the sum. */
export const master = (n: number, slaves: ReadonlyArray<NodeId.NodeId>) =>
  Effect.gen(function* () {
    const us = yield* Process.self
    const queue = yield* Process.spawnLocal(workQueue(n))
    yield* Effect.forEach(slaves, (node) => Remote.spawn(node, slave({ master: us, workQueue: queue })))
    return yield* sumIntegers(n)
  })

if (isMainThread) {
  const n = Number(process.argv[2] ?? 10_000)
  Backend.startMaster((slaves) => Effect.timed(master(n, slaves))).pipe(
    Effect.flatMap(([time, sum]) =>
      Console.log(
        `work-stealing: sum of numPrimeFactors over 1..${n} = ${sum} (${Duration.toMillis(time).toFixed(0)} ms)`
      )
    ),
    Effect.provide(Backend.workerThreads(2, { module: new URL(import.meta.url) })),
    NodeRuntime.runMain
  )
}
