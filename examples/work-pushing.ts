/**
 * The blog's work-pushing program, written with the process API (not the `WorkPushing` module):
 * one slave process per slave node; the master pushes the numbers 1..n round-robin into the
 * slaves' mailboxes with `send`, and each slave answers every number it takes with its
 * numPrimeFactors. Compare with `WorkPushing.run` (docs/recipes/work-pushing.md).
 *
 * As in the blog, the slaves loop forever and every number is pushed at once: exercises 1 and 2
 * (docs/recipes/exercise-1-terminate-slaves.md, docs/recipes/exercise-2-bounded-mailbox.md).
 * Here they end only because closing the backend closes their nodes.
 *
 * Run: npx -c 'node examples/work-pushing.ts'          (n = 10,000: the sum is 31,985)
 *  or: npx -c 'node examples/work-pushing.ts 1000'     (n = 1,000: 2,877; n goes inside the quotes)
 *
 * This file is both the main program and the module every worker thread loads for its
 * `remoteTable`: the main program starts only in the main thread.
 */
import { isMainThread } from "node:worker_threads"
import { NodeRuntime } from "@effect/platform-node"
import { Backend, type NodeId, PrimeFactors, Process, ProcessId, Remote } from "cloud-effect"
import { Console, Duration, Effect, Schema } from "effect"

/** The slave: its closure environment is the master's pid. */
export const slave = Remote.define("examples/work-pushing/slave", ProcessId.ProcessId, (master) =>
  Effect.forever(
    Effect.gen(function* () {
      const n = yield* Process.expect(Schema.Int)
      yield* Process.send(master, PrimeFactors.numPrimeFactors(n))
    })
  )
)

/** The definitions every node (master and slaves) knows by name. */
export const remoteTable = Remote.table(slave)

/** Wait for n numbers and add them up. */
const sumIntegers = (n: number) =>
  Effect.gen(function* () {
    let acc = 0
    for (let i = 0; i < n; i++) acc += yield* Process.expect(Schema.Int)
    return acc
  })

/** The master: one slave per node, then every number pushed, round-robin, then the sum. */
export const master = (n: number, slaves: ReadonlyArray<NodeId.NodeId>) =>
  Effect.gen(function* () {
    const us = yield* Process.self
    const slaveProcesses = yield* Effect.forEach(slaves, (node) => Remote.spawn(node, slave(us)))
    for (let m = 1; m <= n; m++) {
      yield* Process.send(slaveProcesses[(m - 1) % slaveProcesses.length]!, m)
    }
    return yield* sumIntegers(n)
  })

if (isMainThread) {
  const n = Number(process.argv[2] ?? 10_000)
  Backend.startMaster((slaves) => Effect.timed(master(n, slaves))).pipe(
    Effect.flatMap(([time, sum]) =>
      Console.log(
        `work-pushing: sum of numPrimeFactors over 1..${n} = ${sum} (${Duration.toMillis(time).toFixed(0)} ms)`
      )
    ),
    Effect.provide(Backend.workerThreads(2, { module: new URL(import.meta.url) })),
    NodeRuntime.runMain
  )
}
