/**
 * Recipe: exercise 4, hide the latency between a slave's request for work and the reply
 * (docs/recipes/exercise-4-hide-latency.md). Three nodes on the in-memory transport with every
 * frame delayed by 5 ms (a 10 ms round trip), and numbers that take 10 ms each: the blog's
 * work-stealing slave waits a round trip before every number; a slave that asks for its next
 * number before it works on the current one does not. Then the same with `WorkStealing.run`'s
 * `prefetch` option.
 *
 * Run: npx -c 'node docs/recipes/exercise-4-hide-latency.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import {
  Node,
  type NodeId,
  PrimeFactors,
  Process,
  ProcessId,
  Remote,
  Task,
  Transport,
  WorkStealing
} from "cloud-effect"
import { Console, Duration, Effect, Layer, Schema } from "effect"

const latency = 5
const workMillis = 10

/** One number's work: 10 ms. */
const work = (n: number) => Effect.as(Effect.sleep(`${workMillis} millis`), PrimeFactors.numPrimeFactors(n))

class NoMoreWork extends Schema.TaggedClass<NoMoreWork>()("recipes/exercise-4/NoMoreWork", {}) {}

/**
 * The work-stealing slave. Without `prefetch` it is the blog's: ask, wait for the answer, work,
 * ask again. With `prefetch` it asks for the next number as soon as it has one, so the request
 * travels while it works: one request is outstanding at any time, and the answer is (usually)
 * already in the mailbox when the slave is ready for it.
 */
const slave = Remote.define(
  "recipes/exercise-4/slave",
  Schema.Struct({ master: ProcessId.ProcessId, workQueue: ProcessId.ProcessId, prefetch: Schema.Boolean }),
  ({ master, workQueue, prefetch }) =>
    Effect.gen(function* () {
      yield* Process.link(master)
      const us = yield* Process.self
      yield* Process.send(workQueue, us)
      while (true) {
        const n = yield* Process.receiveWait(
          Process.match(Schema.Int, (n) => Effect.succeed(n)),
          Process.match(NoMoreWork, () => Effect.succeed(undefined))
        )
        if (n === undefined) return
        if (prefetch) yield* Process.send(workQueue, us)
        yield* Process.send(master, yield* work(n))
        if (!prefetch) yield* Process.send(workQueue, us)
      }
    })
)

/** The blog's work queue and master. */
const master = (n: number, nodes: ReadonlyArray<NodeId.NodeId>, prefetch: boolean) =>
  Effect.gen(function* () {
    const us = yield* Process.self
    const workQueue = yield* Process.spawnLocal(
      Effect.gen(function* () {
        for (let m = 1; m <= n; m++) yield* Process.send(yield* Process.expect(ProcessId.ProcessId), m)
        return yield* Effect.forever(
          Effect.flatMap(Process.expect(ProcessId.ProcessId), (them) => Process.send(them, new NoMoreWork()))
        )
      })
    )
    yield* Effect.forEach(nodes, (node) => Remote.spawn(node, slave({ master: us, workQueue, prefetch })))
    let sum = 0
    for (let i = 0; i < n; i++) sum += yield* Process.expect(Schema.Int)
    return sum
  })

const slow = Task.define("recipes/exercise-4/slow", Schema.Int, Schema.Int, work)

/** The in-memory transport with every frame held back `ms` milliseconds (order is kept). */
const layerLatency = (ms: number) => Transport.layerMemoryWith({ latency: ms })

/** run a job as a process of its own on a fresh cluster (a master node and two slave nodes) */
const timed = (
  label: string,
  job: (nodes: ReadonlyArray<NodeId.NodeId>) => Effect.Effect<number, unknown, Process.Process>
) =>
  Effect.gen(function* () {
    const masterNode = yield* Node.make({ name: "master" })
    const nodes = [(yield* Node.make({ name: "slave1" })).nodeId, (yield* Node.make({ name: "slave2" })).nodeId]
    const [time, sum] = yield* Node.runProcess(Effect.timed(job(nodes))).pipe(
      Effect.provideService(Node.Node, masterNode)
    )
    yield* Console.log(`${label.padEnd(32)} sum ${sum} in ${Duration.toMillis(time).toFixed(0)} ms`)
  }).pipe(Effect.scoped, Effect.provide(Layer.merge(layerLatency(latency), Remote.table(slave, slow))))

Effect.gen(function* () {
  const n = 40
  const perSlave = n / 2
  yield* Console.log(
    `sum of numPrimeFactors over 1..${n}, 2 slaves, ${workMillis} ms per number, ${2 * latency} ms per round trip`
  )
  yield* Console.log(
    `  expected: without prefetch ~${perSlave * (workMillis + 2 * latency)} ms, with ~${perSlave * workMillis + 2 * latency} ms`
  )
  yield* timed("by hand, no prefetch (the blog)", (nodes) => master(n, nodes, false))
  yield* timed("by hand, prefetch", (nodes) => master(n, nodes, true))
  const job = (nodes: ReadonlyArray<NodeId.NodeId>, prefetch: boolean) =>
    WorkStealing.run({
      task: slow,
      inputs: PrimeFactors.range(1, n),
      nodes,
      reduce: PrimeFactors.sum,
      batch: 1,
      prefetch
    })
  yield* timed("WorkStealing, prefetch: false", (nodes) => job(nodes, false))
  yield* timed("WorkStealing, prefetch: true", (nodes) => job(nodes, true))
}).pipe(NodeRuntime.runMain)
