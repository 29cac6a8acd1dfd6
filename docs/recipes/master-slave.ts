/**
 * Recipe: master-slave (docs/recipes/master-slave.md). The sum of numPrimeFactors over 1..n on two
 * worker-thread slave nodes: one process per number, one process per range of numbers, and the
 * same job through a `WorkPool` Layer.
 *
 * Run: npx -c 'node docs/recipes/master-slave.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Backend, MasterSlave, PrimeFactors, WorkPool } from "cloud-effect"
import { Console, Duration, Effect, Layer } from "effect"

// The blog's program: one slave process per number, spawned round-robin on the slave nodes, each
// sending its result to the master. Unlike the blog, at most `concurrency` of them are alive at
// once, so the master's memory stays bounded for any n.
const perNumber = (n: number) =>
  Backend.startMaster((slaves) =>
    MasterSlave.run({
      task: PrimeFactors.primes,
      inputs: PrimeFactors.range(1, n),
      nodes: slaves,
      reduce: PrimeFactors.sum,
      concurrency: 8
    })
  )

// A spawn costs far more than one number's work: give each process a range of 100 numbers.
const perRange = (n: number) =>
  Backend.startMaster((slaves) =>
    MasterSlave.run({
      task: PrimeFactors.primesRange,
      inputs: PrimeFactors.ranges(1, n, 100),
      nodes: slaves,
      reduce: PrimeFactors.sum
    })
  )

// The strategy as a Layer: the code that needs a WorkPool does not know how work is handed out.
const masterSlavePool = Layer.unwrap(
  Effect.map(Backend.findSlaves, (nodes) => WorkPool.layer({ strategy: "masterSlave", nodes }))
)
const pooled = (n: number) =>
  Effect.gen(function* () {
    const pool = yield* WorkPool.WorkPool
    return yield* pool.reduce(PrimeFactors.primesRange, PrimeFactors.ranges(1, n, 100), PrimeFactors.sum)
  }).pipe(Effect.provide(masterSlavePool))

/** run a job over 1..n and print its sum, its time and the time per number */
const report = <E, R>(label: string, n: number, job: Effect.Effect<number, E, R>) =>
  Effect.flatMap(Effect.timed(job), ([time, sum]) => {
    const ms = Duration.toMillis(time)
    return Console.log(
      `${label.padEnd(30)} 1..${n}: ${sum} in ${ms.toFixed(0)} ms (${((1000 * ms) / n).toFixed(1)} µs per number)`
    )
  })

Effect.gen(function* () {
  yield* Console.log("master-slave: the sum of numPrimeFactors over 1..n")
  yield* report("one process per number", 1_000, perNumber(1_000))
  yield* report("one process per 100 numbers", 10_000, perRange(10_000))
  yield* report("WorkPool, strategy masterSlave", 10_000, pooled(10_000))
}).pipe(
  // the slave nodes: two worker threads running the PrimeFactors tasks' RemoteTable
  Effect.provide(Backend.workerThreads(2, { module: new URL("../../src/cli/tasks.ts", import.meta.url) })),
  NodeRuntime.runMain
)
