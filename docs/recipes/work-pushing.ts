/**
 * Recipe: work-pushing (docs/recipes/work-pushing.md). The sum of numPrimeFactors over 1..n on two
 * worker-thread slave nodes: one slave process per node, the master pushing work into their
 * mailboxes, at most `window` items per slave; then a `WorkPool` Layer that keeps its slaves up
 * for several jobs.
 *
 * Run: npx -c 'node docs/recipes/work-pushing.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Backend, PrimeFactors, WorkPool, WorkPushing } from "cloud-effect"
import { Console, Duration, Effect, Layer } from "effect"

// One message per number; at most `window` numbers wait in (or are worked on by) each slave.
const perNumber = (n: number, window: number) =>
  Backend.startMaster((slaves) =>
    WorkPushing.run({
      task: PrimeFactors.primes,
      inputs: PrimeFactors.range(1, n),
      nodes: slaves,
      reduce: PrimeFactors.sum,
      window
    })
  )

// One message per 100 numbers: a hundred times fewer messages for the same work.
const perRange = (n: number) =>
  Backend.startMaster((slaves) =>
    WorkPushing.run({
      task: PrimeFactors.primesRange,
      inputs: PrimeFactors.ranges(1, n, 100),
      nodes: slaves,
      reduce: PrimeFactors.sum
    })
  )

// The strategy as a Layer. The pool's slaves start with its first job and serve every job after it.
const workPushingPool = Layer.unwrap(
  Effect.map(Backend.findSlaves, (nodes) => WorkPool.layer({ strategy: "workPushing", window: 4, nodes }))
)
const twoJobs = (n: number) =>
  Effect.gen(function* () {
    const pool = yield* WorkPool.WorkPool
    const half = Math.floor(n / 2)
    const first = yield* pool.reduce(PrimeFactors.primesRange, PrimeFactors.ranges(1, half, 100), PrimeFactors.sum)
    const second = yield* pool.reduce(PrimeFactors.primesRange, PrimeFactors.ranges(half + 1, n, 100), PrimeFactors.sum)
    return first + second
  }).pipe(Effect.provide(workPushingPool))

/** run a job over 1..n and print its sum, its time and the time per number */
const report = <E, R>(label: string, n: number, job: Effect.Effect<number, E, R>) =>
  Effect.flatMap(Effect.timed(job), ([time, sum]) => {
    const ms = Duration.toMillis(time)
    return Console.log(
      `${label.padEnd(34)} 1..${n}: ${sum} in ${ms.toFixed(0)} ms (${((1000 * ms) / n).toFixed(1)} µs per number)`
    )
  })

Effect.gen(function* () {
  yield* Console.log("work-pushing: the sum of numPrimeFactors over 1..n")
  yield* report("one number per message, window 1", 2_000, perNumber(2_000, 1))
  yield* report("one number per message, window 8", 2_000, perNumber(2_000, 8))
  yield* report("100 numbers per message, window 2", 10_000, perRange(10_000))
  yield* report("WorkPool workPushing, two jobs", 10_000, twoJobs(10_000))
}).pipe(
  // the slave nodes: two worker threads running the PrimeFactors tasks' RemoteTable
  Effect.provide(Backend.workerThreads(2, { module: new URL("../../src/cli/tasks.ts", import.meta.url) })),
  NodeRuntime.runMain
)
