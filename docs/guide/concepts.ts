/**
 * The concepts of docs/guide.md in one program: two nodes on the in-memory transport, a closure
 * spawned from one on the other, Schema-typed messages, and selective receive.
 *
 * Run: npx -c 'node docs/guide/concepts.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Node, Process, ProcessId, Remote, Transport } from "cloud-effect"
import { Console, Effect, Layer, Option, Schema } from "effect"

// Messages: Schema classes (their tag names them on the wire), primitives, Uint8Arrays.
class Add extends Schema.TaggedClass<Add>()("guide/Add", { amount: Schema.Int }) {}
class Get extends Schema.TaggedClass<Get>()("guide/Get", { replyTo: ProcessId.ProcessId }) {}
class Total extends Schema.TaggedClass<Total>()("guide/Total", { total: Schema.Int }) {}

// A closure: a process body registered under a name, with a Schema-typed environment (here the
// starting total). Only its name and encoded environment travel; every node has the same table.
const counter = Remote.define("guide/counter", Schema.Int, (start) =>
  Effect.gen(function* () {
    let total = start
    while (true) {
      // selective receive: the oldest message either matcher accepts; anything else stays queued
      yield* Process.receiveWait(
        Process.match(Add, (add) => Effect.sync(() => (total += add.amount))),
        Process.match(Get, (get) => Process.send(get.replyTo, new Total({ total })))
      )
    }
  })
)

const main = Effect.gen(function* () {
  const alpha = yield* Node.make({ name: "alpha" })
  const beta = yield* Node.make({ name: "beta" })

  const result = yield* Node.runProcess(
    Effect.gen(function* () {
      const me = yield* Process.self
      yield* Console.log(`I am ${me} on ${yield* Process.getSelfNode}`)
      const pid = yield* Remote.spawn(beta.nodeId, counter(100))
      yield* Console.log(`spawned the counter on beta: ${pid}`)

      // messages from one process to another arrive in the order they were sent
      for (const amount of [1, 2, 3]) yield* Process.send(pid, new Add({ amount }))
      yield* Process.send(pid, new Get({ replyTo: me }))

      // a message nobody asked for waits in the mailbox while `expect` takes the one it wants
      yield* Process.send(me, "a note to self")
      const total = yield* Process.expect(Total)
      const note = yield* Process.expectTimeout(Schema.String, 0) // 0: poll, do not wait
      yield* Console.log(`total ${total.total}; still in the mailbox: ${Option.getOrElse(note, () => "nothing")}`)

      yield* Process.kill(pid, "done")
      return total.total
    })
  ).pipe(Effect.provideService(Node.Node, alpha))
  yield* Console.log(`runProcess returned ${result}`)
})

main.pipe(
  Effect.scoped, // the nodes (and every process on them) end with this scope
  Effect.provide(Layer.merge(Transport.layerMemory, Remote.table(counter))),
  NodeRuntime.runMain
)
