/**
 * Recipe: exercise 2, bound the number of messages waiting in a slave's mailbox
 * (docs/recipes/exercise-2-bounded-mailbox.md). Three nodes on the in-memory transport; every
 * slave looks at its own mailbox with `Process.getProcessInfo` after each number and reports how
 * many messages were waiting. First a hand-written work-pushing master that keeps at most `window`
 * numbers outstanding per slave, then the `WorkPushing` pattern's `window` option.
 *
 * Run: npx -c 'node docs/recipes/exercise-2-bounded-mailbox.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Node, type NodeId, PrimeFactors, Process, ProcessId, Remote, Task, Transport, WorkPushing } from "cloud-effect"
import { Console, Effect, Layer, Option, Schema } from "effect"

/** How many messages wait in the current process's mailbox (0 outside a process). */
const waitingInMyMailbox: Effect.Effect<number> = Effect.gen(function* () {
  const current = yield* Effect.serviceOption(Process.Process)
  if (Option.isNone(current)) return 0
  const info = yield* Process.getProcessInfo(current.value.self).pipe(
    Effect.provideService(Process.Process, current.value)
  )
  return Option.match(info, { onNone: () => 0, onSome: (i) => i.messageQueueLength })
})

/** One number's work: a millisecond, so that a master that pushes everything at once runs ahead. */
const work = (n: number) => Effect.as(Effect.sleep("1 millis"), PrimeFactors.numPrimeFactors(n))

// -------------------------------------------------------------------------------------------------
// By hand: the slave says who it is in every answer, so the master knows whose window has room.

class Answer extends Schema.TaggedClass<Answer>()("recipes/exercise-2/Answer", {
  slave: ProcessId.ProcessId,
  factors: Schema.Int,
  waiting: Schema.Int
}) {}

const slave = Remote.define("recipes/exercise-2/slave", ProcessId.ProcessId, (master) =>
  Effect.gen(function* () {
    yield* Process.link(master)
    const us = yield* Process.self
    return yield* Effect.forever(
      Effect.gen(function* () {
        const n = yield* Process.expect(Schema.Int)
        const factors = yield* work(n)
        yield* Process.send(master, new Answer({ slave: us, factors, waiting: yield* waitingInMyMailbox }))
      })
    )
  })
)

/** Push 1..n with at most `window` numbers outstanding per slave: the sum and the fullest mailbox. */
const boundedPushMaster = (n: number, window: number, nodes: ReadonlyArray<NodeId.NodeId>) =>
  Effect.gen(function* () {
    const us = yield* Process.self
    const slaves = yield* Effect.forEach(nodes, (node) => Remote.spawn(node, slave(us)))
    let next = 1
    // fill every window, round-robin
    for (let round = 0; round < window; round++) {
      for (const pid of slaves) if (next <= n) yield* Process.send(pid, next++)
    }
    let sum = 0
    let fullest = 0
    for (let done = 0; done < n; done++) {
      const answer = yield* Process.expect(Answer)
      sum += answer.factors
      fullest = Math.max(fullest, answer.waiting)
      // the slave that answered has room for one more
      if (next <= n) yield* Process.send(answer.slave, next++)
    }
    for (const pid of slaves) yield* Process.kill(pid, "done")
    return { sum, fullest }
  })

// -------------------------------------------------------------------------------------------------
// With the pattern: a task whose output carries what its slave saw in its mailbox.

class Observed extends Schema.TaggedClass<Observed>()("recipes/exercise-2/Observed", {
  factors: Schema.Int,
  waiting: Schema.Int
}) {}

const observed = Task.define("recipes/exercise-2/observed", Schema.Int, Observed, (n) =>
  Effect.gen(function* () {
    const factors = yield* work(n)
    return new Observed({ factors, waiting: yield* waitingInMyMailbox })
  })
)

const sumAndFullest = {
  initial: { sum: 0, fullest: 0 },
  combine: (acc: { sum: number; fullest: number }, o: Observed) => ({
    sum: acc.sum + o.factors,
    fullest: Math.max(acc.fullest, o.waiting)
  })
}

/** one row of the table: the label in a column of its own, then the sum and the fullest mailbox */
const row = (label: string, result: { sum: number; fullest: number }) =>
  Console.log(`${label.padEnd(38)} sum ${result.sum}, mailbox length at most ${result.fullest}`)

Effect.gen(function* () {
  const master = yield* Node.make({ name: "master" })
  const nodes = [(yield* Node.make({ name: "slave1" })).nodeId, (yield* Node.make({ name: "slave2" })).nodeId]
  const n = 200

  yield* Node.runProcess(
    Effect.gen(function* () {
      yield* Console.log(`sum of numPrimeFactors over 1..${n}, 2 slaves, 1 ms per number`)
      for (const window of [1, 2, 4, n]) {
        const label = window === n ? "everything at once (the blog)" : `window ${window}`
        yield* row(`by hand, ${label}`, yield* boundedPushMaster(n, window, nodes))
      }
      for (const window of [1, 2, 4]) {
        const result = yield* WorkPushing.run({
          task: observed,
          inputs: PrimeFactors.range(1, n),
          nodes,
          reduce: sumAndFullest,
          window
        })
        yield* row(`WorkPushing, window ${window}`, result)
      }
    })
  ).pipe(Effect.provideService(Node.Node, master))
}).pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(Transport.layerMemory, Remote.table(slave, observed))),
  NodeRuntime.runMain
)
