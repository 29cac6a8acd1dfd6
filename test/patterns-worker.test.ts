/**
 * The patterns on real worker-thread slave nodes: exact results, and a slave thread that is
 * terminated mid-run does not change the result.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Backend, MasterSlave, type NodeId, PrimeFactors, Transport, WorkPushing, WorkStealing } from "../src/index.ts"
import { busyThenSleep } from "./fixtures/tasks.ts"

const tasks = new URL("../src/cli/tasks.ts", import.meta.url)
const testTasks = new URL("./fixtures/tasks.ts", import.meta.url)

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
    "a slave's results leave before its next item runs, when that item already waits in its mailbox",
    () =>
      Effect.gen(function* () {
        // items: 400 ms of busy thread, then 50 ms asleep (when the next item, pushed with the
        // first, reaches the slave's mailbox). Held back until the next item sleeps, the first
        // result would reach the master after ~850 ms; sent at once, after ~450 ms
        const busy = 400
        const job = (
          slaves: ReadonlyArray<NodeId.NodeId>,
          onProgress: (p: WorkPushing.Progress) => Effect.Effect<void>
        ) => ({
          task: busyThenSleep,
          inputs: [busy, busy, busy],
          nodes: slaves,
          reduce: { initial: 0, combine: (a: number, b: number) => a + b },
          onProgress
        })
        const patterns = [
          ["work-pushing", (j: ReturnType<typeof job>) => WorkPushing.run({ ...j, window: 2 })],
          ["work-stealing", (j: ReturnType<typeof job>) => WorkStealing.run({ ...j, batch: 1 })]
        ] as const
        for (const [name, run] of patterns) {
          const arrivals: Array<number> = []
          const start = performance.now()
          const result = yield* Backend.startMaster((slaves) =>
            run(
              job(slaves, (p) =>
                Effect.sync(() => {
                  if (p.done > arrivals.length) arrivals.push(performance.now() - start)
                })
              )
            )
          )
          assert.strictEqual(result, 3 * busy, name)
          assert.isBelow(arrivals[0]!, 2 * busy - 150, `${name}: first result after ${arrivals[0]!.toFixed(0)} ms`)
        }
      }).pipe(Effect.provide(Backend.workerThreads(1, { module: testTasks }))),
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
