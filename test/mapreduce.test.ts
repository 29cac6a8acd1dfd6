import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { KMeans, MapReduce, Node, type NodeId, Remote, Transport, WorkPool } from "../src/index.ts"

// word count over numbers: each input value v counts under key v % 7 (and its parity under -1/-2)
const spec = MapReduce.make({
  map: (_: number, v: number) => [[v % 7, 1] as const, [v % 2 === 0 ? -2 : -1, v] as const],
  reduce: (_k: number, vs: ReadonlyArray<number>) => vs.reduce((a, b) => a + b, 0)
})
const countTask = MapReduce.mapTask(
  "test/mapreduce/count",
  { key: Schema.Int, value: Schema.Int, outKey: Schema.Int, outValue: Schema.Int },
  spec.map
)

const env = Layer.merge(Transport.layerMemory, Remote.table(countTask, ...KMeans.definitions))

const cluster = Effect.gen(function* () {
  const master = yield* Node.make({ name: "master" })
  const s1 = yield* Node.make({ name: "s1" })
  const s2 = yield* Node.make({ name: "s2" })
  return { master, nodes: [s1.nodeId, s2.nodeId] as ReadonlyArray<NodeId.NodeId> }
})

const sorted = <V>(m: Map<number, V>) => [...m.entries()].sort((a, b) => a[0] - b[0])

describe("map-reduce", () => {
  it.effect.prop(
    "distributed equals local for random inputs",
    { input: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 }))) },
    ({ input }) =>
      Effect.gen(function* () {
        const { master, nodes } = yield* cluster
        const pairs = input.map((v, i) => [i, v] as const)
        const local = MapReduce.localMapReduce(spec, pairs)
        const distributed = yield* Effect.gen(function* () {
          const pool = yield* WorkPool.WorkPool
          return yield* MapReduce.distributedMapReduce(pool, countTask, spec.reduce, pairs, { chunk: 7 })
        }).pipe(
          Effect.provide(WorkPool.layer({ strategy: "workStealing", nodes })),
          Effect.provideService(Node.Node, master)
        )
        assert.deepStrictEqual(sorted(distributed), sorted(local))
      }).pipe(Effect.scoped, Effect.provide(env)),
    { arbitrary: { runs: 25, size: 60 } }
  )

  it.effect("options that make no sense fail with InvalidOptions (k-means and map-reduce), before anything runs", () =>
    Effect.gen(function* () {
      const { master, nodes } = yield* cluster
      const points = KMeans.randomPoints(100, 7)
      const invalid = [
        [0, {}, "k"],
        [101, {}, "k"],
        [Number.NaN, {}, "k"],
        [3, { slice: 0 }, "slice"],
        [3, { maxIterations: 0 }, "maxIterations"]
      ] as const
      for (const [k, options, option] of invalid) {
        // local: thrown (before this fix, slice 0 ran out of memory)
        assert.throws(() => KMeans.local(points, k, options), `option ${option} is`)
      }
      yield* Effect.gen(function* () {
        const pool = yield* WorkPool.WorkPool
        for (const [k, options, option] of invalid) {
          const error = yield* Node.runProcess(KMeans.distributed(pool, nodes, points, k, options)).pipe(Effect.flip)
          assert.strictEqual(error._tag, "InvalidOptions")
          assert.strictEqual(error._tag === "InvalidOptions" ? error.option : "", option)
        }
        const error = yield* MapReduce.distributedMapReduce(pool, countTask, spec.reduce, [[1, 2] as const], {
          chunk: 0
        }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "InvalidOptions")
      }).pipe(
        Effect.provide(WorkPool.layer({ strategy: "workStealing", nodes })),
        Effect.provideService(Node.Node, master)
      )
      assert.strictEqual(KMeans.local(points, 100, { slice: 1, maxIterations: 1 }).iterations.length, 1)
    }).pipe(Effect.provide(env))
  )

  it.effect("k-means: 50,000 points, the distributed run equals the local one iteration by iteration", () =>
    Effect.gen(function* () {
      const { master, nodes } = yield* cluster
      const points = KMeans.randomPoints(50_000, 7)
      const local = KMeans.local(points, 5)
      const distributed = yield* Effect.gen(function* () {
        const pool = yield* WorkPool.WorkPool
        return yield* Node.runProcess(KMeans.distributed(pool, nodes, points, 5))
      }).pipe(
        Effect.provide(WorkPool.layer({ strategy: "workStealing", nodes })),
        Effect.provideService(Node.Node, master)
      )
      assert.isAbove(local.iterations.length, 1)
      assert.deepStrictEqual(distributed.iterations, local.iterations)
      assert.deepStrictEqual([...distributed.assignment], [...local.assignment])
      assert.isFalse(local.iterations[local.iterations.length - 1]!.moved, "it converged")
      assert.include(KMeans.svg(points, local), "<svg")
    }).pipe(Effect.provide(env))
  )
})
