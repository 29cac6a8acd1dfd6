/**
 * Recipe: work-stealing (docs/recipes/work-stealing.md). The sum of numPrimeFactors over 1..n on
 * two worker-thread slave nodes: the slaves ask the master for work whenever they are free; the
 * blog's one-number-per-request slaves, the defaults (adaptive batches, prefetch), and a `WorkPool`
 * Layer streaming its outputs.
 *
 * Run: npx -c 'node docs/recipes/work-stealing.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Backend, PrimeFactors, WorkPool, WorkStealing } from "cloud-effect"
import { Console, Duration, Effect, Layer, Stream } from "effect"

// The blog's slaves: ask for one number, wait for it, work on it, ask again.
const oneAtATime = (n: number) =>
  Backend.startMaster((slaves) =>
    WorkStealing.run({
      task: PrimeFactors.primes,
      inputs: PrimeFactors.range(1, n),
      nodes: slaves,
      reduce: PrimeFactors.sum,
      batch: 1,
      prefetch: false
    })
  )

// The defaults: a slave asks for its next batch before it starts on the current one (prefetch),
// and batches grow until each holds about 100 ms of work, so messages cost little next to the work.
const adaptive = (n: number) =>
  Backend.startMaster((slaves) =>
    WorkStealing.run({
      task: PrimeFactors.primes,
      inputs: PrimeFactors.range(1, n),
      nodes: slaves,
      reduce: PrimeFactors.sum
    })
  )

// The strategy as a Layer; `mapStream` gives the outputs as they complete.
const workStealingPool = Layer.unwrap(
  Effect.map(Backend.findSlaves, (nodes) => WorkPool.layer({ strategy: "workStealing", nodes }))
)
const streamed = (n: number) =>
  Effect.gen(function* () {
    const pool = yield* WorkPool.WorkPool
    return yield* pool.mapStream(PrimeFactors.primes, Stream.range(1, n)).pipe(
      Stream.runFold(
        () => 0,
        (acc, factors) => acc + factors
      )
    )
  }).pipe(Effect.provide(workStealingPool))

/** run a job over 1..n and print its sum, its time and the time per number */
const report = <E, R>(label: string, n: number, job: Effect.Effect<number, E, R>) =>
  Effect.flatMap(Effect.timed(job), ([time, sum]) => {
    const ms = Duration.toMillis(time)
    return Console.log(
      `${label.padEnd(36)} 1..${n}: ${sum} in ${ms.toFixed(0)} ms (${((1000 * ms) / n).toFixed(1)} µs per number)`
    )
  })

Effect.gen(function* () {
  yield* Console.log("work-stealing: the sum of numPrimeFactors over 1..n")
  yield* report("one number per request, no prefetch", 2_000, oneAtATime(2_000))
  yield* report("adaptive batches, prefetch", 10_000, adaptive(10_000))
  yield* report("WorkPool workStealing, mapStream", 10_000, streamed(10_000))
}).pipe(
  // the slave nodes: two worker threads running the PrimeFactors tasks' RemoteTable
  Effect.provide(Backend.workerThreads(2, { module: new URL("../../src/cli/tasks.ts", import.meta.url) })),
  NodeRuntime.runMain
)
