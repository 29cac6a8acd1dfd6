/**
 * Two processes playing ping-pong with `expect`: the README's example.
 *
 * Run: npx -c 'node examples/ping-pong.ts'
 */

import { Node, Process, ProcessId } from "cloud-effect"
import { Effect, Schema } from "effect"

class Ping extends Schema.TaggedClass<Ping>()("Ping", { from: ProcessId.ProcessId }) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", { n: Schema.Int }) {}

const ponger = Effect.forever(
  Effect.gen(function* () {
    const ping = yield* Process.expect(Ping)
    yield* Process.send(ping.from, new Pong({ n: 1 }))
  })
)

const main = Effect.gen(function* () {
  const pid = yield* Process.spawnLocal(ponger)
  const me = yield* Process.self
  let total = 0
  for (let i = 0; i < 3; i++) {
    yield* Process.send(pid, new Ping({ from: me }))
    total += (yield* Process.expect(Pong)).n
  }
  yield* Process.say(`got ${total} pongs`)
})

Effect.runPromise(Node.runProcess(main).pipe(Effect.provide(Node.layer())))
