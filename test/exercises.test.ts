/**
 * The exercises of "Communication Patterns in Cloud Haskell", one test (or one group) each; every
 * test fails if the behaviour the exercise asks for is removed:
 *
 * 1. terminate the slaves when the master is done (a master that returns, a master that is killed);
 * 2. bound the messages waiting in a slave's mailbox (work-pushing `window`);
 * 3. every slave terminates, whichever way the pattern ends (success, `TaskFailed`, interruption);
 * 4. hide the latency between a slave's request for work and the reply (work-stealing `prefetch`).
 *
 * Some tasks look at their own slave process while they run: a task runs inside its slave process,
 * so `Effect.serviceOption(Process.Process)` finds it and `Process.getProcessInfo` reads its mailbox.
 * The tests sleep on the real clock (`it.live`). A transport with latency is the in-memory one with
 * every frame held back by a timer (same delay for every frame: per-pair order is kept).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Schema } from "effect"
import {
  MasterSlave,
  Node,
  Process,
  type ProcessId,
  Remote,
  Task,
  Transport,
  WorkPushing,
  WorkStealing
} from "../src/index.ts"
import { runOn } from "./helpers.ts"

// -----------------------------------------------------------------------------------------------
// tasks

const Job = Schema.Struct({ n: Schema.Int, ms: Schema.Int })
type Job = typeof Job.Type

/** sleep, then give n */
const slow = Task.define("test/exercises/slow", Job, Schema.Int, (job) =>
  Effect.as(Effect.sleep(`${job.ms} millis`), job.n)
)

/** the length of its slave's mailbox at the end of each item, by slave pid */
const seen = new Map<string, Array<number>>()

/** sleep, look at the own slave's mailbox, then give n */
const probed = Task.define("test/exercises/probed", Job, Schema.Int, (job) =>
  Effect.gen(function* () {
    yield* Effect.sleep(`${job.ms} millis`)
    const current = yield* Effect.serviceOption(Process.Process)
    if (Option.isSome(current)) {
      const info = yield* Process.getProcessInfo(current.value.self).pipe(
        Effect.provideService(Process.Process, current.value)
      )
      if (Option.isSome(info)) {
        const key = String(current.value.self)
        seen.set(key, [...(seen.get(key) ?? []), info.value.messageQueueLength])
      }
    }
    return job.n
  })
)

class Boom extends Schema.TaggedError<Boom>()("Boom", { n: Schema.Int }) {}
/** fails on every input */
const failing = Task.define("test/exercises/failing", Schema.Int, Schema.Int, (n) => Effect.fail(new Boom({ n })))

const table = Remote.table(slow, probed, failing)
const env = Layer.merge(Transport.layerMemory, table)

/** the in-memory transport with every frame delayed by `ms` */
const layerLatency = (ms: number) => Transport.layerMemoryWith({ latency: ms })
const envLatency = (ms: number) => Layer.merge(layerLatency(ms), table)

// -----------------------------------------------------------------------------------------------
// helpers

const patterns = ["master-slave", "work-pushing", "work-stealing"] as const
type PatternName = (typeof patterns)[number]

interface RunJob<I, O, A> {
  readonly task: Task.Task<I, O>
  readonly inputs: Iterable<I>
  readonly nodes: ReadonlyArray<Node.NodeService["nodeId"]>
  readonly reduce: MasterSlave.Reducer<O, A>
  readonly retries?: number | undefined
  readonly onProgress?: ((progress: MasterSlave.Progress) => Effect.Effect<void>) | undefined
}

/** the patterns share one call shape */
const run = <I, O, A>(
  pattern: PatternName,
  job: RunJob<I, O, A>
): Effect.Effect<A, MasterSlave.PatternError, Process.Process> => {
  switch (pattern) {
    case "master-slave":
      return MasterSlave.run(job)
    case "work-pushing":
      return WorkPushing.run(job)
    case "work-stealing":
      return WorkStealing.run(job)
  }
}

const sum = { initial: 0, combine: (a: number, b: number) => a + b }
const jobs = (count: number, ms: number): Array<Job> => Array.from({ length: count }, (_, i) => ({ n: i + 1, ms }))
const total = (count: number) => (count * (count + 1)) / 2

const cluster = (slaves: number) =>
  Effect.gen(function* () {
    const master = yield* Node.make({ name: "master" })
    const nodes: Array<Node.NodeService> = []
    for (let i = 0; i < slaves; i++) nodes.push(yield* Node.make({ name: `slave${i}` }))
    return { master, slaves: nodes, nodes: nodes.map((n) => n.nodeId) }
  })

const processesOn = (node: Node.NodeService) => Node.processes.pipe(Effect.provideService(Node.Node, node))
const pidKeys = (pids: ReadonlyArray<ProcessId.ProcessId>) => pids.map(String).sort()

/** every process on the nodes */
const processesOnAll = (nodes: ReadonlyArray<Node.NodeService>) =>
  Effect.map(Effect.forEach(nodes, processesOn), (lists) => pidKeys(lists.flat()))

/** poll `condition` every millisecond, for up to `ms`; whether it came true */
const eventually = <E, R>(condition: Effect.Effect<boolean, E, R>, ms: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      if (yield* condition) return true
      yield* Effect.sleep("1 millis")
    }
    return yield* condition
  })

class Stop extends Schema.TaggedClass<Stop>()("Stop", {}) {}

const isAlive = (pid: ProcessId.ProcessId) => Effect.map(Process.getProcessInfo(pid), Option.isSome)

// -----------------------------------------------------------------------------------------------

describe("exercise 1: terminate the slaves when the master is done", () => {
  for (const pattern of patterns) {
    it.live(`${pattern}: when the pattern returns, no slave is left, while the master process lives on`, () =>
      Effect.gen(function* () {
        const c = yield* cluster(2)
        yield* runOn(c.master)(
          Effect.gen(function* () {
            const report = yield* Deferred.make<{
              readonly exit: Exit.Exit<number, MasterSlave.PatternError>
              readonly left: ReadonlyArray<string>
            }>()
            // the master is a process of its own, spawned on the master node
            const master = yield* Process.spawnLocal(
              Effect.gen(function* () {
                const exit = yield* Effect.exit(
                  run(pattern, { task: slow, inputs: jobs(20, 2), nodes: c.nodes, reduce: sum })
                )
                const left = yield* processesOnAll(c.slaves)
                yield* Deferred.succeed(report, { exit, left })
                // stay alive: the slaves' links to the master cannot be what ends them
                yield* Process.expect(Stop)
              })
            )
            const { exit, left } = yield* Deferred.await(report)
            assert.deepStrictEqual(exit, Exit.succeed(total(20)))
            assert.deepStrictEqual(left, [], "no slave left when the pattern returned")
            assert.isTrue(yield* isAlive(master), "the master process is still alive")
            assert.deepStrictEqual(yield* processesOnAll(c.slaves), [], "still none, seen from outside")
            yield* Process.send(master, new Stop())
          })
        )
      }).pipe(Effect.provide(env))
    )

    it.live(`${pattern}: killing the master process mid-run kills its slaves (they link to it)`, () =>
      Effect.gen(function* () {
        const c = yield* cluster(3)
        yield* runOn(c.master)(
          Effect.gen(function* () {
            const master = yield* Process.spawnLocal(
              run(pattern, { task: slow, inputs: jobs(200, 5), nodes: c.nodes, reduce: sum })
            )
            const up = yield* eventually(
              Effect.map(Effect.forEach(c.slaves, processesOn), (lists) => lists.every((l) => l.length > 0)),
              2000
            )
            assert.isTrue(up, "slaves run on every slave node")
            yield* Effect.sleep("10 millis")
            yield* Process.kill(master, "killed by the test")
            const gone = yield* eventually(
              Effect.map(processesOnAll(c.slaves), (left) => left.length === 0),
              2000
            )
            assert.isTrue(gone, `the slaves died with their master: ${yield* processesOnAll(c.slaves)}`)
            assert.isFalse(yield* isAlive(master), "the master is dead")
          })
        )
      }).pipe(Effect.provide(env))
    )
  }
})

// -----------------------------------------------------------------------------------------------

describe("exercise 2: bound the messages waiting in a slave's mailbox (work-pushing window)", () => {
  for (const k of [1, 2, 3]) {
    it.live(`window ${k}: at most ${k} messages wait in a slave's mailbox, and the window is used`, () =>
      Effect.gen(function* () {
        seen.clear()
        const c = yield* cluster(2)
        let running = true
        let sampled = 0
        let max = 0
        // a sampler on the master node: the slaves' mailboxes, every millisecond, while the job runs
        const sampler = yield* Effect.forkChild(
          runOn(c.master)(
            Effect.gen(function* () {
              while (running) {
                for (const node of c.slaves) {
                  for (const pid of yield* processesOn(node)) {
                    const info = yield* Process.getProcessInfo(pid)
                    if (Option.isSome(info)) {
                      sampled++
                      max = Math.max(max, info.value.messageQueueLength)
                    }
                  }
                }
                yield* Effect.sleep("1 millis")
              }
            })
          )
        )
        const result = yield* runOn(c.master)(
          WorkPushing.run({ task: probed, inputs: jobs(24, 12), nodes: c.nodes, reduce: sum, window: k })
        ).pipe(Effect.ensuring(Effect.sync(() => (running = false))))
        yield* Fiber.join(sampler)
        assert.strictEqual(result, total(24))
        assert.isAbove(sampled, 20, "the sampler saw the slaves")
        assert.isAtMost(max, k, `sampled mailbox length, window ${k}`)
        if (k >= 2) assert.isAtLeast(max, 1, "items wait in the mailbox")
        // seen by each slave at the end of each item: the k - 1 items pushed while it worked
        assert.strictEqual(seen.size, 2, "both slaves worked")
        for (const [slave, lengths] of seen) {
          assert.strictEqual(Math.max(...lengths), k - 1, `${slave} saw ${lengths}`)
        }
      }).pipe(Effect.provide(env))
    )
  }
})

// -----------------------------------------------------------------------------------------------

describe("exercise 3: every slave terminates, whichever way the pattern ends", () => {
  for (const pattern of patterns) {
    it.live(`${pattern}: success, TaskFailed, interruption: no slave is left`, () =>
      Effect.gen(function* () {
        const c = yield* cluster(2)
        const all = [c.master, ...c.slaves]
        // success
        yield* runOn(c.master)(
          Effect.gen(function* () {
            const result = yield* run(pattern, { task: slow, inputs: jobs(30, 1), nodes: c.nodes, reduce: sum })
            assert.strictEqual(result, total(30))
            assert.deepStrictEqual(yield* processesOnAll(c.slaves), [], "after a success")
            assert.deepStrictEqual(pidKeys(yield* processesOn(c.master)), [String(yield* Process.self)])
          })
        )
        // TaskFailed
        yield* runOn(c.master)(
          Effect.gen(function* () {
            const exit = yield* Effect.exit(
              run(pattern, { task: failing, inputs: [1, 2, 3, 4, 5, 6], nodes: c.nodes, reduce: sum, retries: 1 })
            )
            assert.isTrue(Exit.isFailure(exit))
            if (Exit.isFailure(exit)) {
              const error = Cause.findErrorOption(exit.cause)
              assert.strictEqual(Option.getOrUndefined(error)?._tag, "TaskFailed")
            }
            assert.deepStrictEqual(yield* processesOnAll(c.slaves), [], "after TaskFailed")
            assert.deepStrictEqual(pidKeys(yield* processesOn(c.master)), [String(yield* Process.self)])
          })
        )
        // interruption, once items are done (the slaves are up and working)
        let done = 0
        const fiber = yield* Effect.forkChild(
          runOn(c.master)(
            run(pattern, {
              task: slow,
              inputs: jobs(200, 3),
              nodes: c.nodes,
              reduce: sum,
              onProgress: (p) => Effect.sync(() => (done = p.done))
            })
          )
        )
        assert.isTrue(
          yield* eventually(
            Effect.sync(() => done >= 4),
            2000
          )
        )
        yield* Fiber.interrupt(fiber)
        const leftAfter = yield* processesOnAll(all)
        assert.deepStrictEqual(leftAfter, [], `after an interruption ${leftAfter}`)
      }).pipe(Effect.provide(env))
    )

    // Start-up and spawns in flight: with 20 ms per frame, a pattern cut short after 30 ms has asked
    // for slaves whose pids it does not know yet.
    it.live(`${pattern}: cut short by a timeout while its slaves start, in a master that lives on`, () =>
      Effect.gen(function* () {
        const c = yield* cluster(2)
        yield* runOn(c.master)(
          Effect.gen(function* () {
            const result = yield* run(pattern, {
              task: slow,
              inputs: jobs(20, 200),
              nodes: c.nodes,
              reduce: sum
            }).pipe(Effect.timeoutOption("30 millis"))
            assert.isTrue(Option.isNone(result), "timed out")
            const atOnce = yield* processesOnAll(c.slaves)
            yield* Effect.sleep("150 millis")
            const later = yield* processesOnAll(c.slaves)
            assert.deepStrictEqual(
              { atOnce, later },
              { atOnce: [], later: [] },
              "no slave left when the pattern returned, nor later (the master process still lives)"
            )
          })
        )
      }).pipe(Effect.provide(envLatency(20)))
    )
  }
})

// -----------------------------------------------------------------------------------------------

describe("exercise 4: hide the latency between a slave's request for work and the reply", () => {
  it.live("prefetch: the next Work already waits in the slave's mailbox while it works (never without)", () =>
    Effect.gen(function* () {
      const count = 8
      const lengths = (prefetch: boolean) =>
        Effect.gen(function* () {
          seen.clear()
          const c = yield* cluster(1)
          const result = yield* runOn(c.master)(
            WorkStealing.run({ task: probed, inputs: jobs(count, 10), nodes: c.nodes, reduce: sum, batch: 1, prefetch })
          )
          assert.strictEqual(result, total(count))
          assert.strictEqual(seen.size, 1)
          return [...seen.values()][0]!
        }).pipe(Effect.scoped, Effect.provide(env))
      const withPrefetch = yield* lengths(true)
      const without = yield* lengths(false)
      assert.strictEqual(withPrefetch.length, count)
      // every item but the last: its successor was asked for before the item started
      assert.deepStrictEqual(
        withPrefetch.slice(0, -1).map((n) => n >= 1),
        Array(count - 1).fill(true),
        `prefetch: ${withPrefetch}`
      )
      assert.deepStrictEqual(without, Array(count).fill(0), `no prefetch: ${without}`)
    })
  )

  it.live("prefetch: with 10 ms per frame, the round trips of all but the first request are hidden", () =>
    Effect.gen(function* () {
      const count = 8
      const taskMs = 30
      const latency = 10
      const elapsed = (prefetch: boolean) =>
        Effect.gen(function* () {
          const c = yield* cluster(1)
          const start = Date.now()
          const result = yield* runOn(c.master)(
            WorkStealing.run({
              task: slow,
              inputs: jobs(count, taskMs),
              nodes: c.nodes,
              reduce: sum,
              batch: 1,
              prefetch
            })
          )
          assert.strictEqual(result, total(count))
          return Date.now() - start
        }).pipe(Effect.scoped, Effect.provide(envLatency(latency)))
      // the best of two runs each, interleaved: a stall of the machine does not decide
      const runs: Array<readonly [number, number]> = []
      for (let i = 0; i < 2; i++) runs.push([yield* elapsed(false), yield* elapsed(true)])
      const without = Math.min(...runs.map(([a]) => a))
      const withPrefetch = Math.min(...runs.map(([, b]) => b))
      // without: count · (task + round trip); with: count · task + one round trip
      const hidden = (count - 1) * 2 * latency
      assert.isAtLeast(
        without - withPrefetch,
        hidden / 2,
        `prefetch ${withPrefetch} ms, no prefetch ${without} ms: at least half of ${hidden} ms hidden`
      )
    })
  )
})
