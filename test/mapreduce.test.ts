import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import { Backend, KMeans, MapReduce, Node, type NodeId, Remote, Transport, WorkPool } from "../src/index.ts"

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

// the same map, failing once on key 7 when `failOnce.key7` is set (a failed first attempt of a job)
const failOnce = { key7: false }
const flakyTask = MapReduce.mapTask(
  "test/mapreduce/flaky",
  { key: Schema.Int, value: Schema.Int, outKey: Schema.Int, outValue: Schema.Int },
  (k: number, v: number) => {
    if (k === 7 && failOnce.key7) {
      failOnce.key7 = false
      throw new Error("key 7 fails once")
    }
    return spec.map(k, v)
  }
)

const env = Layer.merge(Transport.layerMemory, Remote.table(countTask, flakyTask, ...KMeans.definitions))

/** the demo's RemoteTable (it has `KMeans.definitions`), for worker-thread slaves */
const tasksModule = new URL("../src/cli/tasks.ts", import.meta.url)

/** `pool`, noting the names of the k-means datasets its jobs' inputs slice */
const noting = (pool: WorkPool.WorkPool["Service"], names: Set<string>): WorkPool.WorkPool["Service"] => {
  const note = (input: unknown) => {
    if (Array.isArray(input))
      for (const pair of input) if (Array.isArray(pair) && pair[1] instanceof KMeans.Slice) names.add(pair[1].dataset)
  }
  return {
    ...pool,
    reduce: (task, inputs, reducer) =>
      pool.reduce(
        task,
        Stream.isStream(inputs)
          ? inputs
          : Array.from(inputs, (input) => {
              note(input)
              return input
            }),
        reducer
      )
  }
}

/** whether `dataset` is stored on `node`, asked there: k-means' map task on its first point, on that node only */
const storedOn = (node: NodeId.NodeId, dataset: string) =>
  Effect.gen(function* () {
    const pool = yield* WorkPool.WorkPool
    const slice = new KMeans.Slice({ dataset, from: 0, to: 1, centres: [[0, 0]] })
    return yield* pool.map(KMeans.mapTask, [[[0, slice]]]).pipe(
      Effect.as(true),
      Effect.catchTag("TaskFailed", (e) =>
        e.error.includes("is not stored on this node") ? Effect.succeed(false) : Effect.fail(e)
      )
    )
  }).pipe(Effect.provide(WorkPool.layer({ strategy: "masterSlave", nodes: [node], retries: 0 })))

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

  it.effect(
    "distributedMapReduce: each run maps the whole input afresh (Effect.retry after a failed attempt, a second run)",
    () =>
      Effect.gen(function* () {
        const { master, nodes } = yield* cluster
        const pairs = Array.from({ length: 40 }, (_, i) => [i, i + 1] as const)
        const local = sorted(MapReduce.localMapReduce(spec, pairs))
        yield* Effect.gen(function* () {
          const pool = yield* WorkPool.WorkPool
          // one effect, run three times: a first attempt that fails on key 7 (after the chunks
          // before it were handed out, some mapped), its retry, and one more run
          const job = MapReduce.distributedMapReduce(pool, flakyTask, spec.reduce, pairs, { chunk: 2 })
          const failures: Array<string> = []
          failOnce.key7 = true
          const retried = yield* job.pipe(
            Effect.tapError((e) => Effect.sync(() => failures.push(e._tag))),
            Effect.retry({ times: 1 })
          )
          assert.deepStrictEqual(failures, ["TaskFailed"], "the first attempt failed")
          assert.deepStrictEqual(sorted(retried), local)
          assert.deepStrictEqual(sorted(yield* job), local)
        }).pipe(
          Effect.provide(WorkPool.layer({ strategy: "workStealing", nodes, retries: 0 })),
          Effect.provideService(Node.Node, master)
        )
      }).pipe(Effect.provide(env))
  )

  it.live(
    "k-means: a run's points are removed from every slave node when it ends (a result, a failure, an interruption)",
    () =>
      Effect.gen(function* () {
        const backend = yield* Backend.Backend
        const node = yield* Node.Node
        const pool = yield* WorkPool.WorkPool
        const points = KMeans.randomPoints(100_000, 11)
        const storedOnSlaves = (dataset: string) =>
          Effect.forEach(backend.slaves, (slave) => storedOn(slave, dataset)).pipe(
            Effect.provideService(Node.Node, node)
          )
        /**
         * a run (driven by `drive`) whose first iteration notes where its points are stored, then
         * does `then`; it checks they are on both slaves then, and on neither once it has ended
         */
        const run = (
          then: Effect.Effect<void>,
          drive: <A, E>(program: Effect.Effect<A, E>) => Effect.Effect<Exit.Exit<A, E>> = Effect.exit
        ) =>
          Effect.gen(function* () {
            const names = new Set<string>()
            const during: Array<ReadonlyArray<boolean>> = []
            const exit = yield* drive(
              Backend.startMaster((slaves) =>
                KMeans.distributed(noting(pool, names), slaves, points, 5, {
                  onIteration: (it) =>
                    it.iteration > 1
                      ? Effect.void
                      : Effect.andThen(
                          Effect.flatMap(Effect.orDie(storedOnSlaves([...names][0]!)), (s) =>
                            Effect.sync(() => during.push(s))
                          ),
                          then
                        )
                })
              ).pipe(Effect.provideService(Backend.Backend, backend), Effect.provideService(Node.Node, node))
            )
            assert.strictEqual(names.size, 1, "one dataset per run")
            const dataset = [...names][0]!
            assert.deepStrictEqual(during, [[true, true]], "the points are on both slaves during the run")
            assert.deepStrictEqual(yield* storedOnSlaves(dataset), [false, false], "and on neither after it")
            return exit
          })
        const ok = yield* run(Effect.void)
        assert.isTrue(Exit.isSuccess(ok))
        assert.isAbove(Exit.isSuccess(ok) ? ok.value.iterations.length : 0, 1)
        const failed = yield* run(Effect.die("onIteration fails"))
        assert.isTrue(Exit.isFailure(failed) && !Exit.hasInterrupts(failed))
        // interrupted once its first iteration is done (in its second, as a rule)
        const first = yield* Deferred.make<void>()
        const interrupted = yield* run(Deferred.succeed(first, undefined).pipe(Effect.asVoid), (program) =>
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(program)
            yield* Deferred.await(first)
            yield* Fiber.interrupt(fiber)
            return yield* Fiber.await(fiber)
          })
        )
        assert.isTrue(Exit.isFailure(interrupted) && Exit.hasInterrupts(interrupted))
      }).pipe(
        Effect.provide(
          Layer.unwrap(
            Effect.map(Effect.service(Backend.Backend), (backend) =>
              WorkPool.layer({ strategy: "workStealing", nodes: backend.slaves })
            )
          ).pipe(Layer.provideMerge(Backend.workerThreads(2, { module: tasksModule })))
        )
      ),
    60_000
  )
})
