/**
 * The blog's master-slave program, written with the process API (not the `MasterSlave` module):
 * the master spawns one remote process per number, round-robin over the slave nodes; each slave
 * process sends numPrimeFactors of its number to the master and ends; the master adds up the n
 * numbers it expects. Compare with `MasterSlave.run` (docs/recipes/master-slave.md).
 *
 * Run: npx -c 'node examples/master-slave.ts'          (n = 10,000: the sum is 31,985)
 *  or: npx -c 'node examples/master-slave.ts 1000'     (n = 1,000: 2,877; n goes inside the quotes)
 *
 * This file is both the main program and the module every worker thread loads for its
 * `remoteTable`: the main program starts only in the main thread.
 */
import { isMainThread } from "node:worker_threads"
import { NodeRuntime } from "@effect/platform-node"
import { Backend, type NodeId, PrimeFactors, Process, ProcessId, Remote } from "cloud-effect"
import { Console, Duration, Effect, Schema } from "effect"

/** The slave: its closure environment is the master's pid and one number. */
export const slave = Remote.define(
  "examples/master-slave/slave",
  Schema.Struct({ master: ProcessId.ProcessId, n: Schema.Int }),
  ({ master, n }) => Process.send(master, PrimeFactors.numPrimeFactors(n))
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

/** The master: one slave process per number in 1..n, the numbers dealt round-robin to the nodes. */
export const master = (n: number, slaves: ReadonlyArray<NodeId.NodeId>) =>
  Effect.gen(function* () {
    const us = yield* Process.self
    for (let m = 1; m <= n; m++) {
      yield* Remote.spawn(slaves[(m - 1) % slaves.length]!, slave({ master: us, n: m }))
    }
    return yield* sumIntegers(n)
  })

if (isMainThread) {
  const n = Number(process.argv[2] ?? 10_000)
  Backend.startMaster((slaves) => Effect.timed(master(n, slaves))).pipe(
    Effect.flatMap(([time, sum]) =>
      Console.log(
        `master-slave: sum of numPrimeFactors over 1..${n} = ${sum} (${Duration.toMillis(time).toFixed(0)} ms)`
      )
    ),
    Effect.provide(Backend.workerThreads(2, { module: new URL(import.meta.url) })),
    NodeRuntime.runMain
  )
}
