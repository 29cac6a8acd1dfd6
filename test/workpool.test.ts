import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Ref, Schema, Stream } from "effect"
import { Node, type NodeId, PrimeFactors, Process, Remote, Task, Transport, WorkPool } from "../src/index.ts"

/** fails on 7, every time */
const failsOnSeven = Task.sync("test/workpool/failsOnSeven", Schema.Int, Schema.Int, (n) => {
  if (n === 7) throw new Error("seven")
  return n
})

/** its input, after `ms` milliseconds */
const slowly = Task.define("test/workpool/slowly", Schema.Int, Schema.Int, (ms) => Effect.as(Effect.sleep(ms), ms))

const env = Layer.merge(Transport.layerMemory, Remote.table(...PrimeFactors.tasks, failsOnSeven, slowly))

const pidsOn = (node: Node.NodeService) =>
  Effect.map(Node.processes.pipe(Effect.provideService(Node.Node, node)), (ps) => ps.map(String).sort())

/** a work-stealing pool over two slave nodes on the in-memory transport, its master on a third */
const onStealingPool = <A, E>(
  body: (
    pool: WorkPool.WorkPool["Service"],
    slaves: ReadonlyArray<Node.NodeService>
  ) => Effect.Effect<A, E, WorkPool.WorkPool | Node.Node>
) =>
  Effect.gen(function* () {
    const master = yield* Node.make({ name: "master" })
    const s1 = yield* Node.make({ name: "s1" })
    const s2 = yield* Node.make({ name: "s2" })
    return yield* Effect.gen(function* () {
      return yield* body(yield* WorkPool.WorkPool, [s1, s2])
    }).pipe(
      Effect.provide(WorkPool.layer({ strategy: "workStealing", nodes: [s1.nodeId, s2.nodeId] })),
      Effect.provideService(Node.Node, master)
    )
  }).pipe(Effect.provide(env))

describe("WorkPool", () => {
  it.effect("slaves that died between jobs are replaced by the next job", () =>
    onStealingPool((pool, [s1, s2]) =>
      Effect.gen(function* () {
        assert.strictEqual(yield* pool.reduce(PrimeFactors.primes, PrimeFactors.range(1, 100), PrimeFactors.sum), 239)
        // kill both slaves from outside the pool
        for (const node of [s1, s2]) {
          const pids = yield* Node.processes.pipe(Effect.provideService(Node.Node, node))
          yield* Node.runProcess(Effect.forEach(pids, (pid) => Process.kill(pid, "between jobs"))).pipe(
            Effect.provideService(Node.Node, node)
          )
        }
        assert.strictEqual(yield* pool.reduce(PrimeFactors.primes, PrimeFactors.range(1, 100), PrimeFactors.sum), 239)
      })
    )
  )

  it.effect("an input that does not encode fails its job with InvalidInput; the pool serves the next job", () =>
    onStealingPool((pool) =>
      Effect.gen(function* () {
        const bad = yield* pool.map(PrimeFactors.primes, [4, 2.5, 9]).pipe(Effect.flip)
        assert.strictEqual(bad._tag, "InvalidInput")
        assert.strictEqual(bad._tag === "InvalidInput" ? bad.index : -1, 1)
        assert.strictEqual(yield* pool.reduce(PrimeFactors.primes, PrimeFactors.range(1, 100), PrimeFactors.sum), 239)
      })
    )
  )

  it.effect("TaskFailed names the item by its position in the job's inputs, in every job of the pool", () =>
    onStealingPool((pool) =>
      Effect.gen(function* () {
        for (let job = 0; job < 3; job++) {
          const failed = yield* pool.map(failsOnSeven, PrimeFactors.range(1, 10)).pipe(Effect.flip)
          assert.strictEqual(failed._tag, "TaskFailed")
          assert.strictEqual(failed._tag === "TaskFailed" ? failed.item : -1, 6, `job ${job}`)
        }
      })
    )
  )

  for (const strategy of ["workStealing", "workPushing"] as const) {
    it.live(`${strategy}: a job that ends before its slaves' spawns are answered keeps them for the next`, () =>
      Effect.gen(function* () {
        const master = yield* Node.make({ name: "master" })
        const s1 = yield* Node.make({ name: "s1" })
        const s2 = yield* Node.make({ name: "s2" })
        yield* Effect.gen(function* () {
          const pool = yield* WorkPool.WorkPool
          // no inputs: the job is done at once, while the spawns (30 ms each way) are in flight
          assert.strictEqual(yield* pool.reduce(PrimeFactors.primes, [], PrimeFactors.sum), 0)
          yield* Effect.sleep("200 millis")
          assert.strictEqual((yield* pidsOn(s1)).length + (yield* pidsOn(s2)).length, 2, "one slave per node")
          const before = [...(yield* pidsOn(s1)), ...(yield* pidsOn(s2))]
          assert.strictEqual(yield* pool.reduce(PrimeFactors.primes, PrimeFactors.range(1, 100), PrimeFactors.sum), 239)
          assert.deepStrictEqual([...(yield* pidsOn(s1)), ...(yield* pidsOn(s2))], before, "the same slaves served it")
        }).pipe(
          Effect.provide(WorkPool.layer({ strategy, nodes: [s1.nodeId, s2.nodeId] })),
          Effect.provideService(Node.Node, master)
        )
      }).pipe(
        Effect.provide(
          Layer.merge(Transport.layerMemoryWith({ latency: "30 millis" }), Remote.table(...PrimeFactors.tasks))
        )
      )
    )
  }

  it.effect("options that make no sense fail the layer with InvalidOptions, before it starts a process", () =>
    Effect.gen(function* () {
      const master = yield* Node.make({ name: "master" })
      const s1 = yield* Node.make({ name: "s1" })
      const nodes = [s1.nodeId]
      const cases: ReadonlyArray<readonly [WorkPool.Options, string, string]> = [
        [{ strategy: "workStealing", nodes, batch: -1 }, "batch", "-1"],
        [{ strategy: "workStealing", nodes, targetMillis: 0 }, "targetMillis", "0"],
        [{ strategy: "workPushing", nodes, window: 0 }, "window", "0"],
        [{ strategy: "workPushing", nodes, window: 1.5 }, "window", "1.5"],
        [{ strategy: "masterSlave", nodes, concurrency: Number.NaN }, "concurrency", "NaN"],
        [{ strategy: "workStealing", nodes, retries: -1 }, "retries", "-1"],
        // from JavaScript: values the types would refuse
        [{ strategy: "stealing", nodes } as unknown as WorkPool.Options, "strategy", '"stealing"'],
        [{ strategy: "workPushing", nodes, window: "2" } as unknown as WorkPool.Options, "window", '"2"'],
        [{ strategy: "workPushing", nodes, window: 2n } as unknown as WorkPool.Options, "window", "2n"],
        [
          { strategy: "masterSlave", nodes, concurrency: Symbol("k") } as unknown as WorkPool.Options,
          "concurrency",
          "Symbol(k)"
        ],
        [{ strategy: 7, nodes } as unknown as WorkPool.Options, "strategy", "7"]
      ]
      for (const [options, option, value] of cases) {
        const used = yield* Ref.make(false)
        const error = yield* Effect.flip(
          Ref.set(used, true).pipe(Effect.provide(WorkPool.layer(options)), Effect.provideService(Node.Node, master))
        )
        assert.strictEqual(error._tag, "InvalidOptions")
        assert.deepInclude(error, { option, value })
        assert.isFalse(yield* Ref.get(used), "the pool was not provided")
        assert.deepStrictEqual(yield* pidsOn(master), [], "no process left on the master node")
      }
      // in range: the layer builds (Infinity retries included) and serves a job
      const sum = yield* Effect.gen(function* () {
        const pool = yield* WorkPool.WorkPool
        return yield* pool.reduce(PrimeFactors.primes, PrimeFactors.range(1, 100), PrimeFactors.sum)
      }).pipe(
        Effect.provide(WorkPool.layer({ strategy: "workPushing", nodes, window: 1, retries: Infinity })),
        Effect.provideService(Node.Node, master)
      )
      assert.strictEqual(sum, 239)
    }).pipe(Effect.provide(env))
  )

  it.effect("workStealing: a job's short last batches do not make the next job's first ones short", () =>
    onStealingPool((pool) =>
      Effect.gen(function* () {
        // a job ends with batches of one or two items (shares of what is left); the slaves'
        // requests made then are the next job's first: sized from those short batches, they were
        // for 2 items, and the next job started again from 2, 4, 8, ...
        const sum = PrimeFactors.sequential(PrimeFactors.numPrimeFactorsNaive, 5000)
        assert.strictEqual(yield* pool.reduce(PrimeFactors.naive, PrimeFactors.range(1, 5000), PrimeFactors.sum), sum)
        const first = yield* Effect.forkChild(
          pool.progress.pipe(
            Stream.filter((p) => p.done > 0),
            Stream.take(1),
            Stream.runCollect
          )
        )
        yield* Effect.yieldNow
        assert.strictEqual(yield* pool.reduce(PrimeFactors.naive, PrimeFactors.range(1, 5000), PrimeFactors.sum), sum)
        const [p] = yield* Fiber.join(first)
        assert.isAtLeast(p!.done, 100, "the next job's first batch")
      })
    )
  )

  it.live("a fiber started inside a job that submits one after that job ended waits its turn like any other", () =>
    Effect.gen(function* () {
      const master = yield* Node.make({ name: "master" })
      const s1 = yield* Node.make({ name: "s1" })
      const s2 = yield* Node.make({ name: "s2" })
      const gate = yield* Deferred.make<void>()
      const ended: Array<string> = []
      let service: WorkPool.WorkPool["Service"] | undefined
      let started = false
      // the first job's progress starts a fiber of its own, which submits a job much later
      const onProgress = (): Effect.Effect<void> =>
        Effect.suspend(() => {
          if (started || service === undefined) return Effect.void
          started = true
          const pool = service
          return Effect.asVoid(
            Effect.forkDetach(
              Deferred.await(gate).pipe(
                Effect.andThen(pool.map(slowly, [1, 1])),
                Effect.andThen(Effect.sync(() => ended.push("late")))
              )
            )
          )
        })
      yield* Effect.gen(function* () {
        const pool = yield* WorkPool.WorkPool
        service = pool
        yield* pool.map(slowly, [1, 2, 3])
        // the first job has ended; a long one runs when the late one is submitted
        const long = yield* Effect.forkChild(
          pool
            .map(
              slowly,
              Array.from({ length: 8 }, () => 50)
            )
            .pipe(Effect.andThen(Effect.sync(() => ended.push("long"))))
        )
        yield* Effect.sleep("20 millis")
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(long)
        for (let i = 0; i < 100 && ended.length < 2; i++) yield* Effect.sleep("10 millis")
        assert.deepStrictEqual(ended, ["long", "late"], "the late job waited for the long one")
      }).pipe(
        Effect.provide(WorkPool.layer({ strategy: "workStealing", nodes: [s1.nodeId, s2.nodeId], onProgress })),
        Effect.provideService(Node.Node, master)
      )
    }).pipe(Effect.provide(env))
  )

  for (const strategy of ["workStealing", "workPushing", "masterSlave"] as const) {
    it.live(`${strategy}: a job whose inputs are another job of the same pool runs (a pipeline), not a deadlock`, () =>
      Effect.gen(function* () {
        const master = yield* Node.make({ name: "master" })
        const s1 = yield* Node.make({ name: "s1" })
        const s2 = yield* Node.make({ name: "s2" })
        const counts = (n: number) => PrimeFactors.numPrimeFactorsNaive(PrimeFactors.numPrimeFactors(n))
        const expected = Array.from({ length: 200 }, (_, i) => counts(i + 1))
        yield* Effect.gen(function* () {
          const pool = yield* WorkPool.WorkPool
          // stage 2 reads stage 1's outputs while stage 1 runs: the pool's jobs run one at a time,
          // so the inner one cannot wait for the outer one to end
          const stage1 = pool.mapStream(
            PrimeFactors.primes,
            Array.from({ length: 200 }, (_, i) => i + 1)
          )
          const piped = yield* Stream.runCollect(pool.mapStream(PrimeFactors.naive, stage1)).pipe(
            Effect.timeoutOption("10 seconds")
          )
          assert.isTrue(Option.isSome(piped), "the pipeline ends")
          assert.deepStrictEqual(
            [...Option.getOrThrow(piped)].sort((a, b) => a - b),
            [...expected].sort((a, b) => a - b)
          )
          const summed = yield* pool.reduce(PrimeFactors.naive, stage1, PrimeFactors.sum)
          assert.strictEqual(
            summed,
            expected.reduce((a, b) => a + b, 0)
          )
          // and the pool serves the next job as before
          assert.strictEqual(
            yield* pool.reduce(PrimeFactors.primes, PrimeFactors.range(1, 1000), PrimeFactors.sum),
            2877
          )
        }).pipe(
          Effect.provide(WorkPool.layer({ strategy, nodes: [s1.nodeId, s2.nodeId] })),
          Effect.provideService(Node.Node, master)
        )
        for (let i = 0; i < 50 && (yield* pidsOn(s1)).length + (yield* pidsOn(s2)).length > 0; i++) {
          yield* Effect.sleep("10 millis")
        }
        assert.deepStrictEqual([...(yield* pidsOn(s1)), ...(yield* pidsOn(s2)), ...(yield* pidsOn(master))], [])
      }).pipe(Effect.provide(env))
    )

    it.effect(`${strategy}: many jobs, map keeps input order, slaves end with the layer`, () =>
      Effect.gen(function* () {
        const master = yield* Node.make({ name: "master" })
        const s1 = yield* Node.make({ name: "s1" })
        const s2 = yield* Node.make({ name: "s2" })
        const nodes: ReadonlyArray<NodeId.NodeId> = [s1.nodeId, s2.nodeId]
        const seen: Array<ReadonlyArray<string>> = []
        yield* Effect.gen(function* () {
          const pool = yield* WorkPool.WorkPool
          const updates = yield* Effect.forkChild(
            pool.progress.pipe(
              Stream.takeUntil((p) => p.done === 1000),
              Stream.runCollect
            )
          )
          yield* Effect.yieldNow
          assert.strictEqual(
            yield* pool.reduce(PrimeFactors.primes, PrimeFactors.range(1, 1000), PrimeFactors.sum),
            2877
          )
          const progress = yield* Fiber.join(updates)
          assert.isAbove(progress.length, 0)
          assert.strictEqual(progress[progress.length - 1]!.done, 1000, "progress reaches the item count")
          seen.push([...(yield* pidsOn(s1)), ...(yield* pidsOn(s2))])
          const squares = yield* pool.map(PrimeFactors.naive, [12, 7, 8, 1, 30])
          assert.deepStrictEqual(squares, [3, 1, 3, 0, 3])
          seen.push([...(yield* pidsOn(s1)), ...(yield* pidsOn(s2))])
          const streamed = yield* Stream.runCollect(pool.mapStream(PrimeFactors.primes, Stream.range(1, 10)))
          assert.strictEqual(
            streamed.reduce((a, b) => a + b, 0),
            15
          )
        }).pipe(Effect.provide(WorkPool.layer({ strategy, nodes })), Effect.provideService(Node.Node, master))
        if (strategy === "masterSlave") {
          assert.deepStrictEqual(seen, [[], []], "item processes end with their item")
        } else {
          assert.strictEqual(seen[0]!.length, 2, "one slave per node")
          assert.deepStrictEqual(seen[0], seen[1], "the same slaves serve both jobs")
        }
        // the layer is closed: its slaves are gone (kills travel as frames: let them land)
        yield* Effect.yieldNow
        for (let i = 0; i < 10 && (yield* pidsOn(s1)).length + (yield* pidsOn(s2)).length > 0; i++) {
          yield* Effect.sleep(0)
        }
        assert.deepStrictEqual([...(yield* pidsOn(s1)), ...(yield* pidsOn(s2))], [])
        assert.deepStrictEqual(yield* pidsOn(master), [])
      }).pipe(Effect.provide(env))
    )
  }

  it.live("a job whose pool master was killed from outside fails with PoolMasterDied instead of hanging", () =>
    Effect.gen(function* () {
      const master = yield* Node.make({ name: "master" })
      const s1 = yield* Node.make({ name: "s1" })
      yield* Effect.gen(function* () {
        const pool = yield* WorkPool.WorkPool
        // inputs that never end: the job runs until its master is gone
        const inputs = Stream.concat(Stream.make(1, 2, 3), Stream.never)
        const job = yield* Effect.forkChild(Effect.flip(pool.reduce(PrimeFactors.primes, inputs, PrimeFactors.sum)))
        while ((yield* pidsOn(s1)).length === 0) yield* Effect.sleep("5 millis")
        const [pid] = yield* Node.processes.pipe(Effect.provideService(Node.Node, master))
        yield* Node.runProcess(Process.kill(pid!, "from outside")).pipe(Effect.provideService(Node.Node, master))
        const error = yield* Fiber.join(job).pipe(Effect.timeout("5 seconds"))
        assert.strictEqual(error._tag, "PoolMasterDied")
        assert.include(error.message, "from outside")
        // the pool is gone: the next job fails at once too
        const next = yield* Effect.flip(pool.map(PrimeFactors.naive, [1, 2])).pipe(Effect.timeout("5 seconds"))
        assert.strictEqual(next._tag, "PoolMasterDied")
        // its slaves died with it (they link to the master)
        for (let i = 0; i < 100 && (yield* pidsOn(s1)).length > 0; i++) yield* Effect.sleep("5 millis")
        assert.deepStrictEqual(yield* pidsOn(s1), [])
      }).pipe(
        Effect.provide(WorkPool.layer({ strategy: "workStealing", nodes: [s1.nodeId] })),
        Effect.provideService(Node.Node, master)
      )
    }).pipe(Effect.provide(env))
  )
})
