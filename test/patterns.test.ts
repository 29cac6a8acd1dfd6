import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Metric, Option, Queue, Schema, Stream } from "effect"
import { MasterSlave, Node, PrimeFactors, Remote, Task, Transport, WorkPushing, WorkStealing } from "../src/index.ts"
import { runOn } from "./helpers.ts"

/** tries per input of `flakySync` (every node runs in this process, on the memory transport) */
const syncTries = new Map<number, number>()
/** a synchronous task that throws on the first try of every third input, and on every try of 13 */
const flakySync = Task.sync("test/patterns/flakySync", Schema.Int, Schema.Int, (n) => {
  const tries = (syncTries.get(n) ?? 0) + 1
  syncTries.set(n, tries)
  if (n === 13 || (n % 3 === 0 && tries === 1)) throw new Error(`no ${n}`)
  return 2 * n
})

/** the typed error a pattern failed with, if it failed */
const failureOf = (exit: Exit.Exit<unknown, unknown>) => {
  const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  return reason?._tag === "Fail" ? (reason.error as WorkStealing.TaskFailed) : undefined
}

/** 7's output, 3.5, is not an Int: it does not encode */
const badOutput = Task.sync("test/patterns/badOutput", Schema.Int, Schema.Int, (n) => (n === 7 ? n / 2 : n))
/** how many `overlapping` items run at once, and the most that ever did */
const overlap = { running: 0, most: 0 }
const overlapping = Task.define("test/patterns/overlapping", Schema.Int, Schema.Int, (n) =>
  Effect.gen(function* () {
    overlap.running++
    overlap.most = Math.max(overlap.most, overlap.running)
    yield* Effect.sleep("20 millis")
    return n
  }).pipe(
    Effect.ensuring(
      Effect.sync(() => {
        overlap.running--
      })
    )
  )
)

const env = Layer.merge(Transport.layerMemory, Remote.table(...PrimeFactors.tasks, flakySync, badOutput, overlapping))

const cluster = (slaves: number) =>
  Effect.gen(function* () {
    const master = yield* Node.make({ name: "master" })
    const nodes = []
    for (let i = 0; i < slaves; i++) nodes.push(yield* Node.make({ name: `slave${i}` }))
    return { master, slaves: nodes }
  })

/** the three patterns' `run` */
const runs = [
  ["master-slave", MasterSlave.run],
  ["work-pushing", WorkPushing.run],
  ["work-stealing", WorkStealing.run]
] as const

/** no process is left on any of these nodes */
const assertNoneLeft = (nodes: ReadonlyArray<Node.NodeService>) =>
  Effect.forEach(nodes, (node) =>
    Effect.map(Node.processes.pipe(Effect.provideService(Node.Node, node)), (left) =>
      assert.strictEqual(left.length, 0, `no process left on ${node.nodeId}`)
    )
  )

describe("patterns: sum of numPrimeFactors", () => {
  for (const [name, run] of runs) {
    it.effect(`${name} gives the check values`, () =>
      Effect.gen(function* () {
        const { master, slaves } = yield* cluster(2)
        const nodes = slaves.map((s) => s.nodeId)
        const r1 = yield* runOn(master)(
          run({ task: PrimeFactors.primes, inputs: PrimeFactors.range(1, 1000), nodes, reduce: PrimeFactors.sum })
        )
        assert.strictEqual(r1, 2877)
        const r2 = yield* runOn(master)(
          run({ task: PrimeFactors.naive, inputs: PrimeFactors.range(1, 10), nodes, reduce: PrimeFactors.sum })
        )
        assert.strictEqual(r2, 15)
        const r3 = yield* runOn(master)(
          run({
            task: PrimeFactors.primesRange,
            inputs: PrimeFactors.ranges(1, 10_000, 500),
            nodes,
            reduce: PrimeFactors.sum
          })
        )
        assert.strictEqual(r3, 31985)
        yield* assertNoneLeft([master, ...slaves])
      }).pipe(Effect.provide(env))
    )
  }

  it.effect("a Stream of outputs", () =>
    Effect.gen(function* () {
      const { master, slaves } = yield* cluster(2)
      const out = yield* runOn(master)(
        WorkStealing.stream({
          task: PrimeFactors.primes,
          inputs: Stream.range(1, 100),
          nodes: slaves.map((s) => s.nodeId)
        }).pipe(Stream.runCollect)
      )
      assert.strictEqual(out.length, 100)
      assert.strictEqual(
        out.reduce((a, b) => a + b, 0),
        PrimeFactors.sequential(PrimeFactors.numPrimeFactors, 100)
      )
    }).pipe(Effect.provide(env))
  )

  it.effect("metrics: items done per slave node, in flight, retried", () =>
    Effect.gen(function* () {
      const { master, slaves } = yield* cluster(2)
      const perSlave = Effect.map(Metric.snapshot, (snapshot) => {
        const counts = new Map<string, number>()
        for (const m of snapshot) {
          if (m.id !== "cloud_effect_items_done" || m.attributes?.["task"] !== PrimeFactors.naive.name) continue
          counts.set(String(m.attributes?.["slave"]), (m.state as { count: number }).count)
        }
        return counts
      })
      const before = yield* perSlave
      yield* runOn(master)(
        WorkStealing.run({
          task: PrimeFactors.naive,
          inputs: PrimeFactors.range(1, 200),
          nodes: slaves.map((s) => s.nodeId),
          reduce: PrimeFactors.sum
        })
      )
      const after = yield* perSlave
      const delta = [...after].map(([slave, count]) => [slave, count - (before.get(slave) ?? 0)] as const)
      assert.strictEqual(
        delta.reduce((a, [, n]) => a + n, 0),
        200,
        "every item counted once, per slave"
      )
      assert.isTrue(delta.every(([slave]) => slave.startsWith("mem:slave")))
    }).pipe(Effect.provide(env))
  )

  for (const [name, run] of runs) {
    it.effect(`${name}: a synchronous task that throws fails the item, which is retried; TaskFailed names it`, () =>
      Effect.gen(function* () {
        const { master, slaves } = yield* cluster(2)
        const nodes = slaves.map((s) => s.nodeId)
        syncTries.clear()
        const inputs = Array.from({ length: 60 }, (_, i) => i + 14)
        const sum = yield* runOn(master)(run({ task: flakySync, inputs, nodes, reduce: PrimeFactors.sum }))
        assert.strictEqual(
          sum,
          inputs.reduce((a, n) => a + 2 * n, 0),
          "every item counted once"
        )
        assert.isTrue(
          inputs.every((n) => syncTries.get(n) === (n % 3 === 0 ? 2 : 1)),
          "the items that threw were tried again"
        )
        const exit = yield* runOn(master)(
          run({ task: flakySync, inputs: [11, 12, 13, 14], nodes, reduce: PrimeFactors.sum, retries: 2 })
        ).pipe(Effect.exit)
        assert.isTrue(Exit.isFailure(exit))
        const failed = failureOf(exit)
        assert.strictEqual(failed?._tag, "TaskFailed")
        assert.strictEqual(failed?.input, "13")
        assert.strictEqual(failed?.attempts, 3)
        assert.include(failed?.error ?? "", "no 13")
        yield* assertNoneLeft([master, ...slaves])
      }).pipe(Effect.provide(env))
    )
  }

  for (const [name, run] of runs) {
    it.effect(`${name}: an output that does not encode fails its own item (TaskFailed), not its batch or slave`, () =>
      Effect.gen(function* () {
        const { master, slaves } = yield* cluster(2)
        const nodes = slaves.map((s) => s.nodeId)
        const inputs = Array.from({ length: 100 }, (_, i) => i)
        const exit = yield* runOn(master)(run({ task: badOutput, inputs, nodes, reduce: PrimeFactors.sum })).pipe(
          Effect.exit
        )
        const failed = failureOf(exit)
        assert.strictEqual(failed?._tag, "TaskFailed", `the job failed with ${failed?._tag}`)
        assert.strictEqual(failed?.input, "7")
        assert.include(failed?.error ?? "", "does not encode")
        const sum = yield* runOn(master)(
          run({ task: badOutput, inputs: inputs.filter((n) => n !== 7), nodes, reduce: PrimeFactors.sum })
        )
        assert.strictEqual(sum, 4950 - 7, "the same slaves' nodes serve a job without the bad item")
        yield* assertNoneLeft([master, ...slaves])
      }).pipe(Effect.provide(env))
    )
  }

  for (const [name, run] of runs) {
    it.effect(`${name}: an input its schema refuses fails the job with InvalidInput naming it, not a defect`, () =>
      Effect.gen(function* () {
        const { master, slaves } = yield* cluster(2)
        const nodes = slaves.map((s) => s.nodeId)
        // 2.5 is not an Int: it cannot be encoded for a slave, on any try
        const inputs = [...PrimeFactors.range(1, 600), 2.5, ...PrimeFactors.range(601, 1000)]
        const exit = yield* runOn(master)(
          run({ task: PrimeFactors.primes, inputs, nodes, reduce: PrimeFactors.sum })
        ).pipe(Effect.exit)
        assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), "a typed failure, not a defect")
        const failed = failureOf(exit) as unknown as WorkStealing.InvalidInput | undefined
        assert.strictEqual(failed?._tag, "InvalidInput", `the job failed with ${failed?._tag}`)
        assert.strictEqual(failed?.index, 600, "its position in the inputs")
        assert.strictEqual(failed?.input, "2.5")
        assert.include(failed?.error ?? "", "integer")
        yield* assertNoneLeft([master, ...slaves])
      }).pipe(Effect.provide(env))
    )
  }

  it("the workload refuses arguments it would never finish with", () => {
    assert.throws(() => PrimeFactors.ranges(1, 10, 0), RangeError)
    assert.throws(() => PrimeFactors.ranges(1, 10, -2), RangeError)
    assert.throws(() => PrimeFactors.ranges(1, 10, 2.5), RangeError)
    for (const n of [2.5, Number.POSITIVE_INFINITY, Number.NaN]) {
      assert.throws(() => PrimeFactors.numPrimeFactors(n), RangeError)
      assert.throws(() => PrimeFactors.numPrimeFactorsNaive(n), RangeError)
    }
    assert.deepStrictEqual(
      [...PrimeFactors.ranges(1, 5, 2)].map((r) => [r.from, r.to]),
      [
        [1, 2],
        [3, 4],
        [5, 5]
      ]
    )
    assert.throws(() => PrimeFactors.sumPrimeFactors({ from: 1.5, to: 3 }), RangeError)
    assert.deepStrictEqual(
      [...PrimeFactors.ranges(1, 5, Number.POSITIVE_INFINITY)].map((r) => [r.from, r.to]),
      [[1, 5]]
    )
    assert.strictEqual(PrimeFactors.numPrimeFactors(0), 0)
  })

  it.effect("options that make no sense fail the job with InvalidOptions before it starts anything", () =>
    Effect.gen(function* () {
      const { master, slaves } = yield* cluster(2)
      const nodes = slaves.map((s) => s.nodeId)
      // (an array: a generator would be used up by the first job that runs)
      const job = {
        task: PrimeFactors.primes,
        inputs: [...PrimeFactors.range(1, 100)],
        nodes,
        reduce: PrimeFactors.sum
      }
      const cases = [
        ["retries", Number.NaN, WorkStealing.run({ ...job, retries: Number.NaN })],
        ["retries", -1, MasterSlave.run({ ...job, retries: -1 })],
        ["batch", 1.5, WorkStealing.run({ ...job, batch: 1.5 })],
        ["targetMillis", 0, WorkStealing.run({ ...job, targetMillis: 0 })],
        ["window", 0, WorkPushing.run({ ...job, window: 0 })],
        ["window", Number.POSITIVE_INFINITY, WorkPushing.run({ ...job, window: Number.POSITIVE_INFINITY })],
        ["concurrency", 0, MasterSlave.run({ ...job, concurrency: 0 })]
      ] as const
      for (const [option, value, run] of cases) {
        const error = yield* runOn(master)(run).pipe(Effect.flip)
        assert.strictEqual(error._tag, "InvalidOptions", `${option} ${value}`)
        assert.deepInclude(error, { option, value: String(value) })
        yield* assertNoneLeft([master, ...slaves])
      }
      // the defaults and the smallest sensible values run
      assert.strictEqual(yield* runOn(master)(WorkPushing.run({ ...job, window: 1, retries: 0 })), 239)
      assert.strictEqual(yield* runOn(master)(MasterSlave.run({ ...job, concurrency: 1 })), 239)
      assert.strictEqual(yield* runOn(master)(WorkStealing.run({ ...job, batch: 0, targetMillis: 0.5 })), 239)
      assert.strictEqual(yield* runOn(master)(WorkStealing.run({ ...job, retries: Number.POSITIVE_INFINITY })), 239)
    }).pipe(Effect.provide(env))
  )

  it.effect("no nodes: NoSlavesLeft names what was left; an empty array needs no slave", () =>
    Effect.gen(function* () {
      const { master } = yield* cluster(0)
      const job = { task: PrimeFactors.primes, nodes: [], reduce: PrimeFactors.sum }
      const failed = (reason: string) => `no slave is left to run task cloud-effect/PrimeFactors/primes (${reason})`
      for (const run of [WorkStealing.run, WorkPushing.run, MasterSlave.run]) {
        const array = yield* runOn(master)(run({ ...job, inputs: [1, 2, 3] })).pipe(Effect.flip)
        assert.strictEqual(array._tag, "NoSlavesLeft")
        assert.strictEqual(array.message, failed("3 items unfinished"))
        // an iterable or a Stream is not read without a slave to give its inputs to
        const iterator = PrimeFactors.range(1, 3)[Symbol.iterator]()
        const iterable = yield* runOn(master)(run({ ...job, inputs: { [Symbol.iterator]: () => iterator } })).pipe(
          Effect.flip
        )
        assert.strictEqual(iterable.message, failed("inputs not read"))
        assert.deepStrictEqual([...{ [Symbol.iterator]: () => iterator }], [1, 2, 3], "no input was taken from it")
        const stream = yield* runOn(master)(run({ ...job, inputs: Stream.make(1, 2, 3) })).pipe(Effect.flip)
        assert.strictEqual(stream.message, failed("inputs not read"))
        assert.strictEqual(yield* runOn(master)(run({ ...job, inputs: [] })), 0)
      }
      yield* assertNoneLeft([master])
    }).pipe(Effect.provide(env))
  )

  for (const [name, stream] of [
    ["master-slave", MasterSlave.stream],
    ["work-pushing", WorkPushing.stream],
    ["work-stealing", WorkStealing.stream]
  ] as const) {
    it.live(`${name}: an input of a live Stream is worked on without waiting for more inputs`, () =>
      Effect.gen(function* () {
        const { master, slaves } = yield* cluster(2)
        const queue = yield* Queue.unbounded<number, Cause.Done>()
        yield* Queue.offer(queue, 21)
        // the queue stays open: a master that waits for more inputs before handing this one out hangs
        const first = yield* runOn(master)(
          stream({
            task: PrimeFactors.naive,
            inputs: Stream.fromQueue(queue),
            nodes: slaves.map((s) => s.nodeId)
          }).pipe(Stream.take(1), Stream.runCollect)
        ).pipe(Effect.timeoutOption("3 seconds"))
        yield* Queue.end(queue)
        assert.deepStrictEqual(Option.getOrUndefined(first), [2], "numPrimeFactors 21 = 2, within 3 s")
      }).pipe(Effect.provide(env))
    )
  }

  for (const [name, run] of runs) {
    it.live(`${name}: the in-flight gauge counts the items handed out, and nothing once the job is interrupted`, () =>
      Effect.gen(function* () {
        const { master, slaves } = yield* cluster(2)
        const gauge = Effect.map(Metric.snapshot, (snapshot) => {
          const m = snapshot.find(
            (m) => m.id === "cloud_effect_items_in_flight" && m.attributes?.["task"] === overlapping.name
          )
          return m === undefined ? 0 : (m.state as { readonly value: number }).value
        })
        const job = yield* Effect.forkChild(
          runOn(master)(
            run({
              task: overlapping,
              inputs: PrimeFactors.range(1, 100),
              nodes: slaves.map((s) => s.nodeId),
              reduce: PrimeFactors.sum
            })
          )
        )
        for (let i = 0; i < 100 && overlap.running < 2; i++) yield* Effect.sleep("5 millis")
        assert.isAtLeast(yield* gauge, overlap.running, "in flight while the slaves work")
        yield* Fiber.interrupt(job)
        assert.strictEqual(yield* gauge, 0, "in flight after the job")
      }).pipe(Effect.provide(env))
    )

    it.live(`${name}: a Stream that gives its inputs one at a time still keeps every slave busy`, () =>
      Effect.gen(function* () {
        const { master, slaves } = yield* cluster(4)
        overlap.most = 0
        // chunks of one (as Stream.mapEffect gives): a master that reads the next input only once a
        // result is back runs one item at a time
        const inputs = Stream.range(1, 16).pipe(Stream.rechunk(1))
        const sum = yield* runOn(master)(
          run({ task: overlapping, inputs, nodes: slaves.map((s) => s.nodeId), reduce: PrimeFactors.sum })
        )
        assert.strictEqual(sum, 136)
        assert.isAtLeast(overlap.most, 4, "items running at once")
        yield* assertNoneLeft(slaves)
      }).pipe(Effect.provide(env))
    )
  }

  it.effect(
    "work-stealing: batches shrink toward the end of a lazy source, which is pulled only a bounded way ahead",
    () =>
      Effect.gen(function* () {
        const { master, slaves } = yield* cluster(2)
        const nodes = slaves.map((s) => s.nodeId)
        let pulled = 0
        const inputs = function* () {
          for (let i = 1; i <= 3000; i++) {
            pulled++
            yield i
          }
        }
        const sizes: Array<number> = []
        let pulledAtFirst = 0
        let last = 0
        const sum = yield* runOn(master)(
          WorkStealing.run({
            task: PrimeFactors.primes,
            inputs: inputs(),
            nodes,
            batch: 50,
            reduce: PrimeFactors.sum,
            onProgress: (p) =>
              Effect.sync(() => {
                if (sizes.length === 0) pulledAtFirst = pulled
                sizes.push(p.done - last)
                last = p.done
              })
          })
        )
        assert.strictEqual(sum, PrimeFactors.sequential(PrimeFactors.numPrimeFactors, 3000))
        assert.isAtMost(pulledAtFirst, 2 * 50 * 2 * 3, "pulled a few batches ahead, not the whole source")
        assert.strictEqual(sizes[0], 50, "full batches while the end is far")
        assert.isAtMost(Math.max(...sizes.slice(-4)), 10, "small batches at the end")
      }).pipe(Effect.provide(env))
  )

  it("the sequential check values", () => {
    assert.strictEqual(PrimeFactors.sequential(PrimeFactors.numPrimeFactors, 10), 15)
    assert.strictEqual(PrimeFactors.sequential(PrimeFactors.numPrimeFactors, 1000), 2877)
    assert.strictEqual(PrimeFactors.sequential(PrimeFactors.numPrimeFactors, 10_000), 31985)
    assert.strictEqual(PrimeFactors.sequential(PrimeFactors.numPrimeFactorsNaive, 10_000), 31985)
    assert.strictEqual(PrimeFactors.sequential(PrimeFactors.numPrimeFactors, 100_000), 343614)
    // the range tasks' loops: inclusive at both ends, and sub-ranges add up
    assert.strictEqual(PrimeFactors.sumPrimeFactors({ from: 1, to: 10_000 }), 31985)
    assert.strictEqual(PrimeFactors.sumPrimeFactorsNaive({ from: 1, to: 10_000 }), 31985)
    assert.strictEqual(PrimeFactors.sumPrimeFactors({ from: 12, to: 12 }), 3)
    assert.strictEqual(
      PrimeFactors.sumPrimeFactors({ from: 1, to: 4999 }) +
        PrimeFactors.sumPrimeFactorsNaive({ from: 5000, to: 10_000 }),
      31985
    )
  })
})
