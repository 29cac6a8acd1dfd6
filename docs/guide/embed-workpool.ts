/**
 * A `WorkPool` inside an Effect application (docs/guide.md, "Embedding a WorkPool"). The
 * application's own service, `Analytics`, needs a `WorkPool`; which strategy hands out the work,
 * and on which nodes, is decided where the layers are put together.
 *
 * Run: npx -c 'node docs/guide/embed-workpool.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Backend, PrimeFactors, WorkPool } from "cloud-effect"
import { Console, Context, Effect, Layer } from "effect"
import { factors, type WordStats, wordStats } from "./tasks.ts"

/** The application's service: it knows its jobs, not where they run. */
export class Analytics extends Context.Service<
  Analytics,
  {
    readonly totalFactors: (n: number) => Effect.Effect<number, WorkPool.PatternError | WorkPool.PoolMasterDied>
    readonly wordStats: (
      words: ReadonlyArray<string>
    ) => Effect.Effect<Array<WordStats>, WorkPool.PatternError | WorkPool.PoolMasterDied>
  }
>()("guide/Analytics") {
  static readonly layer = Layer.effect(
    Analytics,
    Effect.gen(function* () {
      const pool = yield* WorkPool.WorkPool
      return Analytics.of({
        totalFactors: (n) => pool.reduce(factors, PrimeFactors.range(1, n), PrimeFactors.sum),
        wordStats: (words) => pool.map(wordStats, words)
      })
    })
  )
}

/** Work-stealing on the slaves of whatever Backend is provided. */
const PoolLive = Layer.unwrap(
  Effect.map(Backend.findSlaves, (nodes) => WorkPool.layer({ strategy: "workStealing", nodes }))
)

/** Two worker threads on this machine, running this application's tasks. */
const BackendLive = Backend.workerThreads(2, { module: new URL("./tasks.ts", import.meta.url) })

const AppLive = Analytics.layer.pipe(Layer.provide(PoolLive), Layer.provide(BackendLive))

const program = Effect.gen(function* () {
  const analytics = yield* Analytics
  yield* Console.log(`numPrimeFactors summed over 1..10,000: ${yield* analytics.totalFactors(10_000)}`)
  const stats = yield* analytics.wordStats(["communication", "patterns", "in", "cloud", "haskell"])
  for (const s of stats) yield* Console.log(`${s.word.padEnd(14)} ${s.vowels} vowels, ${s.consonants} consonants`)
})

program.pipe(Effect.provide(AppLive), NodeRuntime.runMain)
