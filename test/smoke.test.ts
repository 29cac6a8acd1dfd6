import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Node, Notification, Process, ProcessId } from "../src/index.ts"

class Ping extends Schema.TaggedClass<Ping>()("Ping", { from: ProcessId.ProcessId }) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", {}) {}

describe("smoke", () => {
  it.effect("ping pong", () =>
    Effect.gen(function* () {
      const r = yield* Node.runProcess(
        Effect.gen(function* () {
          const ponger = yield* Process.spawnLocal(
            Effect.gen(function* () {
              const ping = yield* Process.expect(Ping)
              yield* Process.send(ping.from, new Pong())
            })
          )
          const ref = yield* Process.monitor(ponger)
          yield* Process.send(ponger, new Ping({ from: yield* Process.self }))
          const pong = yield* Process.expect(Pong)
          const n = yield* Process.expect(Notification.ProcessMonitorNotification)
          assert.strictEqual(n.ref.id, ref.id)
          return [pong._tag, n.reason._tag]
        })
      )
      assert.deepStrictEqual(r, ["Pong", "DiedNormal"])
      const f = yield* Effect.forkChild(
        Node.runProcess(Process.expectTimeout(Pong, "1 second").pipe(Effect.map(Option.isNone)))
      )
      yield* TestClock.adjust("2 seconds")
      assert.isTrue(yield* Fiber.join(f))
    }).pipe(Effect.provide(Node.layer()))
  )
})
