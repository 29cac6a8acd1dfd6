/**
 * The patterns on real worker-thread slave nodes: exact results, and a slave thread that is
 * terminated mid-run does not change the result.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Backend, MasterSlave, PrimeFactors, Transport, WorkPushing, WorkStealing } from "../src/index.ts"

const tasks = new URL("../src/cli/tasks.ts", import.meta.url)

describe("patterns on worker threads", () => {
  it.live(
    "each pattern gives the exact sum on 2 worker-thread slaves",
    () =>
      Effect.gen(function* () {
        const n = 20_000
        const expected = PrimeFactors.sequential(PrimeFactors.numPrimeFactors, n)
        for (const run of [MasterSlave.run, WorkPushing.run, WorkStealing.run]) {
          const result = yield* Backend.startMaster((slaves) =>
            run({
              task: PrimeFactors.primesRange,
              inputs: PrimeFactors.ranges(1, n, 250),
              nodes: slaves,
              reduce: PrimeFactors.sum
            })
          )
          assert.strictEqual(result, expected)
        }
      }).pipe(Effect.provide(Backend.workerThreads(2, { module: tasks }))),
    60_000
  )

  it.live(
    "a slave thread terminated mid-run: the result is still exact",
    () =>
      Effect.gen(function* () {
        const n = 20_000
        for (const run of [WorkStealing.run, WorkPushing.run, MasterSlave.run]) {
          let terminated = false
          const result = yield* Effect.gen(function* () {
            const hub = yield* Transport.WorkerHub
            return yield* Backend.startMaster((slaves) =>
              run({
                task: PrimeFactors.naiveRange,
                inputs: PrimeFactors.ranges(1, n, 100),
                nodes: slaves,
                reduce: PrimeFactors.sum,
                onProgress: (p) => {
                  if (terminated || p.done < 20) return Effect.void
                  terminated = true
                  return hub.terminate(slaves[slaves.length - 1]!.address)
                }
              })
            )
          }).pipe(Effect.provide(Backend.workerThreads(2, { module: tasks })))
          assert.isTrue(terminated)
          assert.strictEqual(result, PrimeFactors.sequential(PrimeFactors.numPrimeFactorsNaive, n))
        }
      }),
    90_000
  )
})
