import * as v8 from "node:v8"
import * as vm from "node:vm"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Channel, Notification, Process, ProcessId } from "../src/index.ts"
import { withState } from "../src/internal/context.ts"
import { runOnNode } from "./helpers.ts"

/** a full garbage collection, then time for the FinalizationRegistry callbacks to run */
const collectGarbage = Effect.promise(async () => {
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as () => void
  for (let i = 0; i < 5; i++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
})

class Job extends Schema.TaggedClass<Job>()("Job", { n: Schema.Int, reply: Channel.SendPort(Schema.Number) }) {}

describe("typed channels", () => {
  it.effect("sendChan / receiveChan between processes, with a SendPort inside a message", () =>
    runOnNode(
      Effect.gen(function* () {
        const worker = yield* Process.spawnLocal(
          Effect.forever(Effect.flatMap(Process.expect(Job), (job) => Channel.sendChan(job.reply, job.n * 2)))
        )
        const [sp, rp] = yield* Channel.newChan(Schema.Number)
        for (let i = 1; i <= 5; i++) yield* Process.send(worker, new Job({ n: i, reply: sp }))
        const got: Array<number> = []
        for (let i = 1; i <= 5; i++) got.push(yield* Channel.receiveChan(rp))
        assert.deepStrictEqual(got, [2, 4, 6, 8, 10])
        yield* Process.kill(worker, "done")
      })
    )
  )

  it.effect("receiveChanTimeout: 0 polls, a timeout uses the clock and loses nothing", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        runOnNode(
          Effect.gen(function* () {
            const [sp, rp] = yield* Channel.newChan(Schema.String)
            const polled = yield* Channel.receiveChanTimeout(0, rp)
            const timedOut = yield* Channel.receiveChanTimeout("1 second", rp)
            yield* Channel.sendChan(sp, "late")
            const got = yield* Channel.receiveChanTimeout("1 second", rp)
            return { polled, timedOut, got }
          })
        )
      )
      yield* TestClock.adjust("1 second")
      const r = yield* Fiber.join(fiber)
      assert.isTrue(Option.isNone(r.polled))
      assert.isTrue(Option.isNone(r.timedOut))
      assert.deepStrictEqual(r.got, Option.some("late"))
    })
  )

  it.effect("receiveChanTimeout with a NaN timeout is a defect naming it, not a poll", () =>
    runOnNode(
      Effect.gen(function* () {
        const [, rp] = yield* Channel.newChan(Schema.Number)
        const exit = yield* Effect.exit(Channel.receiveChanTimeout(Number.NaN, rp))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "", "receiveChanTimeout: the timeout NaN")
      })
    )
  )

  it.effect("mergePortsBiased takes from the first port that has a value", () =>
    runOnNode(
      Effect.gen(function* () {
        const [s1, r1] = yield* Channel.newChan(Schema.Number)
        const [s2, r2] = yield* Channel.newChan(Schema.Number)
        for (const n of [20, 21]) yield* Channel.sendChan(s2, n)
        for (const n of [10, 11]) yield* Channel.sendChan(s1, n)
        const merged = yield* Channel.mergePortsBiased([r1, r2])
        const got: Array<number> = []
        for (let i = 0; i < 4; i++) got.push(yield* Channel.receiveChan(merged))
        assert.deepStrictEqual(got, [10, 11, 20, 21])
      })
    )
  )

  it.effect("mergePortsRR takes from the ports in turn", () =>
    runOnNode(
      Effect.gen(function* () {
        const [s1, r1] = yield* Channel.newChan(Schema.Number)
        const [s2, r2] = yield* Channel.newChan(Schema.Number)
        const [s3, r3] = yield* Channel.newChan(Schema.Number)
        for (const n of [10, 11, 12]) yield* Channel.sendChan(s1, n)
        for (const n of [20, 21]) yield* Channel.sendChan(s2, n)
        yield* Channel.sendChan(s3, 30)
        const merged = yield* Channel.mergePortsRR([r1, r2, r3])
        const got: Array<number> = []
        for (let i = 0; i < 6; i++) got.push(yield* Channel.receiveChan(merged))
        assert.deepStrictEqual(got, [10, 20, 30, 11, 21, 12])
      })
    )
  )

  it.effect("a blocked merged receive wakes for any of its ports", () =>
    runOnNode(
      Effect.gen(function* () {
        const [s1, r1] = yield* Channel.newChan(Schema.Number)
        const [s2, r2] = yield* Channel.newChan(Schema.Number)
        const merged = yield* Channel.mergePortsBiased([r1, r2])
        yield* Process.spawnLocal(Channel.sendChan(s2, 2))
        assert.strictEqual(yield* Channel.receiveChan(merged), 2)
        yield* Process.spawnLocal(Channel.sendChan(s1, 1))
        assert.strictEqual(yield* Channel.receiveChan(merged), 1)
      })
    )
  )

  it.effect("values for the channel of a dead process are dropped", () =>
    runOnNode(
      Effect.gen(function* () {
        const me = yield* Process.self
        const [owner] = yield* Process.spawnMonitor(
          Effect.gen(function* () {
            const [sp] = yield* Channel.newChan(Schema.Number)
            yield* Process.send(me, new Job({ n: 0, reply: sp }))
          })
        )
        const job = yield* Process.expect(Job)
        yield* Process.expect(Notification.ProcessMonitorNotification)
        yield* Channel.sendChan(job.reply, 1)
        assert.isTrue(Option.isNone(yield* Process.getProcessInfo(owner)))
      })
    )
  )

  it.effect("values already in a channel stay readable after its owner died, by a process it gave the port to", () =>
    runOnNode(
      Effect.gen(function* () {
        const me = yield* Process.self
        // the owner puts a value in its channel, hands the receive end to a reader, and ends
        yield* Process.spawnMonitor(
          Effect.gen(function* () {
            const [sp, rp] = yield* Channel.newChan(Schema.Number)
            yield* Channel.sendChan(sp, 7)
            const reader = yield* Process.spawnLocal(
              Effect.gen(function* () {
                yield* Process.expect(Schema.Literal("read"))
                const v = yield* Channel.receiveChanTimeout(0, rp)
                yield* Process.send(
                  me,
                  Option.getOrElse(v, () => -1)
                )
              })
            )
            yield* Process.send(me, reader)
          })
        )
        const reader = yield* Process.expect(ProcessId.ProcessId)
        yield* Process.expect(Notification.ProcessMonitorNotification)
        yield* Process.send(reader, "read")
        assert.strictEqual(yield* Process.expect(Schema.Number), 7, "the value sent before the owner died")
      })
    )
  )

  it.live("a channel whose ReceivePort is unreachable is freed; values sent to it are dropped", () =>
    runOnNode(
      Effect.gen(function* () {
        const channels = withState((s) => s.channels.size)
        // a server that makes a reply channel per request and forgets it
        const ports: Array<Channel.SendPort<number>> = []
        const request = (i: number) =>
          Effect.gen(function* () {
            const [sp, rp] = yield* Channel.newChan(Schema.Number)
            yield* Channel.sendChan(sp, i)
            assert.strictEqual(yield* Channel.receiveChan(rp), i)
            return sp
          })
        for (let i = 0; i < 200; i++) ports.push(yield* request(i))
        const [keptSend, kept] = yield* Channel.newChan(Schema.Number)
        assert.strictEqual(yield* channels, 201)
        yield* collectGarbage
        // (a collector may keep one or two of them a little longer; without freeing, all 200 stay)
        assert.isAtMost(yield* channels, 3, "the channels whose ReceivePort is gone are freed")
        for (const sp of ports) yield* Channel.sendChan(sp, 1)
        yield* Channel.sendChan(keptSend, 42)
        assert.strictEqual(yield* Channel.receiveChan(kept), 42)
        // a receive that is waiting keeps its channel alive, even when nothing else refers to it
        const [waitingSend, waiting] = yield* Channel.newChan(Schema.Number)
        const receiver = yield* Effect.forkChild(Channel.receiveChan(waiting))
        yield* collectGarbage
        yield* Channel.sendChan(waitingSend, 7)
        assert.strictEqual(yield* Fiber.join(receiver), 7)
      })
    )
  )
})
