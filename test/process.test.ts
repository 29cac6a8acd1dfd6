import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { type Message, Node, Notification, Process, ProcessId } from "../src/index.ts"

class Ping extends Schema.TaggedClass<Ping>()("Ping", { from: ProcessId.ProcessId }) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", { n: Schema.Int }) {}
class Never extends Schema.TaggedClass<Never>()("Never", {}) {}
class Boom extends Schema.TaggedError<Boom>()("Boom", { why: Schema.String }) {}
class Stop extends Schema.TaggedClass<Stop>()("Stop", { why: Schema.String }) {}

const run = <A, E, R>(effect: Effect.Effect<A, E, R>) => Node.runProcess(effect).pipe(Effect.provide(Node.layer()))

const expectNotification = Process.expect(Notification.ProcessMonitorNotification)

describe("send and expect", () => {
  it.effect("ping-pong between two processes", () =>
    run(
      Effect.gen(function* () {
        const ponger = yield* Process.spawnLocal(
          Effect.forever(
            Effect.gen(function* () {
              const ping = yield* Process.expect(Ping)
              yield* Process.send(ping.from, new Pong({ n: 1 }))
            })
          )
        )
        const me = yield* Process.self
        let total = 0
        for (let i = 0; i < 100; i++) {
          yield* Process.send(ponger, new Ping({ from: me }))
          total += (yield* Process.expect(Pong)).n
        }
        assert.strictEqual(total, 100)
      })
    )
  )

  it.effect("primitives are messages; expect picks by schema and leaves the rest in order", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        yield* Process.send(me, "a")
        yield* Process.send(me, 1)
        yield* Process.send(me, "b")
        yield* Process.send(me, true)
        yield* Process.send(me, 2)
        assert.strictEqual(yield* Process.expect(Schema.Number), 1)
        assert.strictEqual(yield* Process.expect(Schema.Boolean), true)
        assert.strictEqual(yield* Process.expect(Schema.String), "a")
        assert.strictEqual(yield* Process.expect(Schema.Literal("b")), "b")
        assert.strictEqual(yield* Process.expect(Schema.Int), 2)
        const info = yield* Process.getProcessInfo(me)
        assert.strictEqual(Option.getOrThrow(info).messageQueueLength, 0)
      })
    )
  )

  it.effect("receiveWait takes the oldest accepted message and runs the first matcher that accepts it", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        yield* Process.send(me, new Pong({ n: 1 }))
        yield* Process.send(me, new Pong({ n: 2 }))
        yield* Process.send(me, "text")
        const first = yield* Process.receiveWait(
          Process.matchIf(
            Pong,
            (p) => p.n === 2,
            (p) => Effect.succeed(`even ${p.n}`)
          ),
          Process.match(Schema.String, (s) => Effect.succeed(`string ${s}`))
        )
        // the guard rejected Pong 1, which stays in place
        assert.strictEqual(first, "even 2")
        const second = yield* Process.receiveWait(
          Process.match(Schema.String, (s) => Effect.succeed(`string ${s}`)),
          Process.match(Pong, (p) => Effect.succeed(`pong ${p.n}`))
        )
        assert.strictEqual(second, "pong 1")
        const third = yield* Process.receiveWait(
          Process.matchAny((m) => Effect.succeed(Process.unwrapMessage(m, Schema.String)))
        )
        assert.deepStrictEqual(third, Option.some("text"))
      })
    )
  )

  it.effect("two matchers accepting the same message: the first in list order runs", () =>
    run(
      Effect.gen(function* () {
        yield* Process.send(yield* Process.self, new Pong({ n: 3 }))
        const r = yield* Process.receiveWait(
          Process.match(Pong, () => Effect.succeed("first")),
          Process.match(Pong, () => Effect.succeed("second"))
        )
        assert.strictEqual(r, "first")
      })
    )
  )

  it.effect("a blocked receive wakes for a matching message only", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        const child = yield* Process.spawnLocal(
          Effect.gen(function* () {
            const ping = yield* Process.expect(Ping)
            yield* Process.send(ping.from, "noise")
            yield* Process.send(ping.from, new Pong({ n: 7 }))
          })
        )
        yield* Process.send(child, new Ping({ from: me }))
        assert.strictEqual((yield* Process.expect(Pong)).n, 7)
        assert.strictEqual(yield* Process.expect(Schema.String), "noise")
      })
    )
  )

  it.effect("expectTimeout and receiveTimeout use the clock; 0 polls; a timeout loses no message", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        run(
          Effect.gen(function* () {
            const polled = yield* Process.expectTimeout(Never, 0)
            const timedOut = yield* Process.expectTimeout(Never, "1 second")
            const none = yield* Process.receiveTimeout(
              "1 second",
              Process.match(Never, () => Effect.succeed(1))
            )
            yield* Process.send(yield* Process.self, new Pong({ n: 5 }))
            const hit = yield* Process.receiveTimeout(
              "1 second",
              Process.match(Pong, (p) => Effect.succeed(p.n))
            )
            return { polled, timedOut, none, hit }
          })
        )
      )
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      const r = yield* Fiber.join(fiber)
      assert.isTrue(Option.isNone(r.polled))
      assert.isTrue(Option.isNone(r.timedOut))
      assert.isTrue(Option.isNone(r.none))
      assert.deepStrictEqual(r.hit, Option.some(5))
    })
  )

  it.effect("a receive timeout that is NaN or not a duration is a defect naming it; a negative one polls", () =>
    Effect.gen(function* () {
      const cases = [
        ["receiveTimeout", "NaN", Process.receiveTimeout(Number.NaN, Process.match(Never, Effect.succeed))],
        [
          "receiveTimeout",
          "{ seconds: NaN }",
          Process.receiveTimeout({ seconds: Number.NaN }, Process.match(Never, Effect.succeed))
        ],
        ["expectTimeout", "soon", Process.expectTimeout(Never, "soon" as never)]
      ] as const
      for (const [what, timeout, receive] of cases) {
        const exit = yield* Effect.exit(run(receive))
        const text = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
        assert.include(text, `${what}: the timeout ${timeout} is not a duration`)
      }
      // a deadline already past polls, as 0 does; Infinity waits (here for a message already there)
      const [past, hit] = yield* run(
        Effect.gen(function* () {
          const past = yield* Process.expectTimeout(Never, -1)
          yield* Process.send(yield* Process.self, new Never({}))
          return [past, yield* Process.expectTimeout(Never, Number.POSITIVE_INFINITY)] as const
        })
      )
      assert.isTrue(Option.isNone(past))
      assert.isTrue(Option.isSome(hit))
    })
  )

  it.effect("a value with no schema is a defect of the sender, naming the problem", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        run(
          Effect.gen(function* () {
            const bogus = { _tag: "Bogus" } as Message.Tagged
            yield* Process.send(yield* Process.self, bogus)
          })
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      const text = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
      assert.include(text, "not a sendable message")
    })
  )

  it.effect("a relay through 5,000 waiting processes neither overflows the stack nor loses the token", () =>
    run(
      Effect.gen(function* () {
        let next = yield* Process.self
        for (let i = 0; i < 5000; i++) {
          const to = next
          next = yield* Process.spawnLocal(
            Effect.flatMap(Process.expect(Schema.Number), (n) => Process.send(to, n + 1))
          )
        }
        yield* Effect.yieldNow
        yield* Process.send(next, 0)
        assert.strictEqual(yield* Process.expect(Schema.Number), 5000)
      })
    )
  )

  it.effect("a guard that throws kills the receiver that waits with it, never the sender", () =>
    run(
      Effect.gen(function* () {
        const [receiver] = yield* Process.spawnMonitor(
          Process.receiveWait(
            Process.matchIf(
              Pong,
              () => {
                throw new Error("guard bug")
              },
              () => Effect.void
            )
          )
        )
        yield* Effect.yieldNow
        yield* Process.send(receiver, new Pong({ n: 1 }))
        const n = yield* expectNotification
        assert.include((n.reason as Notification.DiedException).error, "guard bug")
      })
    )
  )

  it.effect("send to a dead pid is dropped and never fails", () =>
    run(
      Effect.gen(function* () {
        const [pid] = yield* Process.spawnMonitor(Effect.void)
        yield* expectNotification
        yield* Process.send(pid, new Pong({ n: 1 }))
        assert.isTrue(Option.isNone(yield* Process.getProcessInfo(pid)))
      })
    )
  )
})

describe("monitors", () => {
  it.effect("DiedNormal, DiedException (failure and defect) and DiedUnknownId", () =>
    run(
      Effect.gen(function* () {
        const [normal, r1] = yield* Process.spawnMonitor(Effect.void)
        const n1 = yield* expectNotification
        assert.strictEqual(n1.reason._tag, "DiedNormal")
        assert.isTrue(ProcessId.equals(n1.pid, normal))
        assert.strictEqual(n1.ref.id, r1.id)

        yield* Process.spawnMonitor(Effect.fail(new Boom({ why: "bad" })))
        const n2 = yield* expectNotification
        assert.strictEqual(n2.reason._tag, "DiedException")
        assert.include((n2.reason as Notification.DiedException).error, "Boom")

        yield* Process.spawnMonitor(Effect.die("kaput"))
        const n3 = yield* expectNotification
        assert.strictEqual(n3.reason._tag, "DiedException")
        assert.include((n3.reason as Notification.DiedException).error, "kaput")

        yield* Process.monitor(normal)
        const n4 = yield* expectNotification
        assert.strictEqual(n4.reason._tag, "DiedUnknownId")
      })
    )
  )

  it.effect("exactly one notification per monitor; two monitors give two", () =>
    run(
      Effect.gen(function* () {
        const pid = yield* Process.spawnLocal(Process.expect(Pong))
        const a = yield* Process.monitor(pid)
        const b = yield* Process.monitor(pid)
        yield* Process.send(pid, new Pong({ n: 1 }))
        const first = yield* expectNotification
        const second = yield* expectNotification
        assert.deepStrictEqual([first.ref.id, second.ref.id].sort(), [a.id, b.id].sort())
        assert.isTrue(Option.isNone(yield* Process.expectTimeout(Notification.ProcessMonitorNotification, 0)))
      })
    )
  )

  it.effect("unmonitor before the death means no notification", () =>
    run(
      Effect.gen(function* () {
        const pid = yield* Process.spawnLocal(Process.expect(Pong))
        const ref = yield* Process.monitor(pid)
        yield* Process.unmonitor(ref)
        const [, witness] = yield* Process.spawnMonitor(Effect.void)
        yield* Process.send(pid, new Pong({ n: 1 }))
        // wait until pid is surely dead, via a second monitor
        yield* Process.monitor(pid)
        const n = yield* expectNotification
        const m = yield* expectNotification
        assert.deepStrictEqual([n.ref.id, m.ref.id].includes(ref.id), false, "no notification for the removed monitor")
        assert.isTrue([n.ref.id, m.ref.id].includes(witness.id))
      })
    )
  )

  it.effect("unmonitor also flushes a notification that already arrived", () =>
    run(
      Effect.gen(function* () {
        const [pid, ref] = yield* Process.spawnMonitor(Effect.void)
        // make sure it died and notified: monitor again and wait for that one
        const ref2 = yield* Process.monitor(pid)
        const n2 = yield* expectNotification
        assert.strictEqual(n2.ref.id, ref.id === n2.ref.id ? ref.id : ref2.id)
        yield* Process.unmonitor(ref)
        yield* Process.unmonitor(ref2)
        assert.isTrue(Option.isNone(yield* Process.expectTimeout(Notification.ProcessMonitorNotification, 0)))
      })
    )
  )

  it.effect("unmonitor with another process's ref (the same id) leaves this one's monitor", () =>
    run(
      Effect.gen(function* () {
        const other = yield* Process.spawnLocal(Process.expect(Pong))
        const pid = yield* Process.spawnLocal(Process.expect(Pong))
        const mine = yield* Process.monitor(pid)
        yield* Process.unmonitor(new Notification.MonitorRef({ watcher: other, id: mine.id }))
        yield* Process.send(pid, new Pong({ n: 1 }))
        const n = yield* expectNotification
        assert.strictEqual(n.ref.id, mine.id)
        yield* Process.send(other, new Pong({ n: 2 }))
      })
    )
  )
})

describe("links", () => {
  it.effect("a link fires on normal exit: the linker dies with ProcessLinkException", () =>
    run(
      Effect.gen(function* () {
        const target = yield* Process.spawnLocal(Process.expect(Pong))
        const finalized: Array<string> = []
        const me = yield* Process.self
        const [linker] = yield* Process.spawnMonitor(
          Effect.gen(function* () {
            yield* Effect.addFinalizer(() => Effect.sync(() => finalized.push("linker")))
            yield* Process.link(target)
            yield* Process.send(me, "linked")
            yield* Process.expect(Never)
          })
        )
        yield* Process.expect(Schema.Literal("linked"))
        yield* Process.send(target, new Pong({ n: 1 }))
        const n = yield* expectNotification
        assert.isTrue(ProcessId.equals(n.pid, linker))
        assert.strictEqual(n.reason._tag, "DiedException")
        assert.include((n.reason as Notification.DiedException).error, "ProcessLinkException")
        assert.include((n.reason as Notification.DiedException).error, "DiedNormal")
        assert.deepStrictEqual(finalized, ["linker"])
      })
    )
  )

  it.effect("links are one-way: the target survives the linker's death", () =>
    run(
      Effect.gen(function* () {
        const target = yield* Process.spawnLocal(Process.expect(Pong))
        yield* Process.spawnMonitor(
          Effect.gen(function* () {
            yield* Process.link(target)
            return yield* Effect.fail(new Boom({ why: "linker fails" }))
          })
        )
        yield* expectNotification
        assert.isTrue(Option.isSome(yield* Process.getProcessInfo(target)))
        yield* Process.kill(target, "cleanup")
      })
    )
  )

  it.effect("linking to a dead pid fires at once with DiedUnknownId", () =>
    run(
      Effect.gen(function* () {
        const [dead] = yield* Process.spawnMonitor(Effect.void)
        yield* expectNotification
        yield* Process.spawnMonitor(
          Effect.gen(function* () {
            yield* Process.link(dead)
            yield* Process.expect(Never)
          })
        )
        const n = yield* expectNotification
        assert.include((n.reason as Notification.DiedException).error, "DiedUnknownId")
      })
    )
  )

  it.effect("unlink before the death: the linker survives", () =>
    run(
      Effect.gen(function* () {
        const target = yield* Process.spawnLocal(Process.expect(Pong))
        const me = yield* Process.self
        const linker = yield* Process.spawnLocal(
          Effect.gen(function* () {
            yield* Process.link(target)
            yield* Process.unlink(target)
            yield* Process.send(me, "unlinked")
            yield* Process.expect(Never)
          })
        )
        yield* Process.expect(Schema.String)
        yield* Process.monitor(target)
        yield* Process.send(target, new Pong({ n: 1 }))
        yield* expectNotification
        assert.isTrue(Option.isSome(yield* Process.getProcessInfo(linker)))
        assert.deepStrictEqual(Option.getOrThrow(yield* Process.getProcessInfo(linker)).links, [])
        yield* Process.kill(linker, "done")
      })
    )
  )

  it.effect("spawnLink: the spawner dies with its child", () =>
    run(
      Effect.gen(function* () {
        const [parent] = yield* Process.spawnMonitor(
          Effect.gen(function* () {
            yield* Process.spawnLink(Effect.fail(new Boom({ why: "child" })))
            yield* Process.expect(Never)
          })
        )
        const n = yield* expectNotification
        assert.isTrue(ProcessId.equals(n.pid, parent))
        assert.include((n.reason as Notification.DiedException).error, "Boom")
      })
    )
  )
})

describe("exit signals", () => {
  it.effect("exit is caught by catchExit whose schema accepts the reason", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        const pid = yield* Process.spawnLocal(
          Effect.gen(function* () {
            const result = yield* Process.catchExit(
              Effect.andThen(Process.send(me, "ready"), Process.expect(Never)).pipe(Effect.as("body")),
              Stop,
              (from, reason) => Effect.succeed(`caught ${reason.why} from ${ProcessId.equals(from, me)}`)
            )
            yield* Process.send(me, result)
          })
        )
        yield* Process.expect(Schema.Literal("ready"))
        yield* Process.exit(pid, new Stop({ why: "please" }))
        assert.strictEqual(yield* Process.expect(Schema.String), "caught please from true")
      })
    )
  )

  it.effect("an exit whose reason the catchExit schema rejects kills the process", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        const [pid] = yield* Process.spawnMonitor(
          Process.catchExit(Effect.andThen(Process.send(me, "ready"), Process.expect(Never)), Stop, () => Effect.void)
        )
        yield* Process.expect(Schema.String)
        yield* Process.exit(pid, "a string reason")
        const n = yield* expectNotification
        assert.include((n.reason as Notification.DiedException).error, "exit-from=")
        assert.include((n.reason as Notification.DiedException).error, "a string reason")
      })
    )
  )

  it.effect("kill is not catchable; die is catchable by catchExit", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        const [pid] = yield* Process.spawnMonitor(
          Process.catchExit(Effect.andThen(Process.send(me, "ready"), Process.expect(Never)), Schema.String, () =>
            Process.send(me, "caught")
          )
        )
        yield* Process.expect(Schema.Literal("ready"))
        yield* Process.kill(pid, "no mercy")
        const n = yield* expectNotification
        assert.include((n.reason as Notification.DiedException).error, "killed-by=")
        assert.include((n.reason as Notification.DiedException).error, "no mercy")
        assert.isTrue(Option.isNone(yield* Process.expectTimeout(Schema.Literal("caught"), 0)))

        yield* Process.spawnLocal(
          Process.catchExit(Process.die("oops"), Schema.String, (_, why) => Process.send(me, `died: ${why}`))
        )
        assert.strictEqual(yield* Process.expect(Schema.String), "died: oops")
        const [, ref] = yield* Process.spawnMonitor(Process.die("uncaught"))
        const n2 = yield* expectNotification
        assert.strictEqual(n2.ref.id, ref.id)
        assert.include((n2.reason as Notification.DiedException).error, "uncaught")
      })
    )
  )
})

describe("registry", () => {
  it.effect("register, whereis, nsend; typed errors for a taken name, a dead pid, a missing name", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        const echo = yield* Process.spawnLocal(
          Effect.forever(Effect.flatMap(Process.expect(Schema.String), (s) => Process.send(me, `echo ${s}`)))
        )
        yield* Process.register("echo", echo)
        assert.isTrue(ProcessId.equals(Option.getOrThrow(yield* Process.whereis("echo")), echo))
        yield* Process.nsend("echo", "hi")
        assert.strictEqual(yield* Process.expect(Schema.String), "echo hi")
        const taken = yield* Effect.flip(Process.register("echo", me))
        assert.strictEqual(taken._tag, "AlreadyRegistered")
        assert.deepStrictEqual(Option.getOrThrow(yield* Process.getProcessInfo(echo)).registeredNames, ["echo"])

        const [dead] = yield* Process.spawnMonitor(Effect.void)
        yield* expectNotification
        const notAlive = yield* Effect.flip(Process.register("dead", dead))
        assert.strictEqual(notAlive._tag, "ProcessNotAlive")
        const missing = yield* Effect.flip(Process.unregister("nobody"))
        assert.strictEqual(missing._tag, "NotRegistered")
        yield* Process.nsend("nobody", "dropped")

        yield* Process.monitor(echo)
        yield* Process.kill(echo, "bye")
        yield* expectNotification
        assert.isTrue(Option.isNone(yield* Process.whereis("echo")), "the name is removed when its process dies")
        yield* Process.register("echo", me)
        yield* Process.unregister("echo")
        assert.isTrue(Option.isNone(yield* Process.whereis("echo")))
      })
    )
  )

  it.effect("reregister moves a name", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        const other = yield* Process.spawnLocal(Process.expect(Never))
        yield* Process.register("svc", me)
        yield* Process.reregister("svc", other)
        assert.isTrue(ProcessId.equals(Option.getOrThrow(yield* Process.whereis("svc")), other))
        assert.deepStrictEqual(Option.getOrThrow(yield* Process.getProcessInfo(me)).registeredNames, [])
        const e = yield* Effect.flip(Process.reregister("none", me))
        assert.strictEqual(e._tag, "NotRegistered")
        yield* Process.kill(other, "done")
      })
    )
  )
})

describe("getProcessInfo", () => {
  it.effect("reports node, names, queue length, links and monitors; None when dead", () =>
    run(
      Effect.gen(function* () {
        const me = yield* Process.self
        const target = yield* Process.spawnLocal(Process.expect(Never))
        yield* Process.link(target)
        const ref = yield* Process.monitor(target)
        yield* Process.send(me, "x")
        yield* Process.register("me", me)
        const info = Option.getOrThrow(yield* Process.getProcessInfo(me))
        assert.strictEqual(info.node.address, me.node.address)
        assert.deepStrictEqual(info.registeredNames, ["me"])
        assert.strictEqual(info.messageQueueLength, 1)
        assert.strictEqual(info.links.length, 1)
        assert.isTrue(ProcessId.equals(info.links[0]!, target))
        assert.strictEqual(info.monitors[0]![1].id, ref.id)
        yield* Process.unlink(target)
        yield* Process.kill(target, "done")
        yield* expectNotification
        assert.isTrue(Option.isNone(yield* Process.getProcessInfo(target)))
      })
    )
  )
})

describe("runProcess and node scope", () => {
  it.effect("runProcess returns the result, fails with the typed error, ProcessDied when killed", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Node.runProcess(Effect.succeed(42)), 42)
      const e = yield* Effect.flip(Node.runProcess(Effect.fail(new Boom({ why: "typed" }))))
      assert.strictEqual(e._tag, "Boom")
      const died = yield* Effect.flip(
        Node.runProcess(
          Effect.gen(function* () {
            yield* Process.kill(yield* Process.self, "suicide")
            return yield* Process.expect(Never)
          })
        )
      )
      assert.strictEqual(died._tag, "ProcessDied")
      assert.include(died.message, "killed-by=")
    }).pipe(Effect.provide(Node.layer()))
  )

  it.effect("closing a node interrupts processes blocked in receive, runs their finalizers, leaves none", () =>
    Effect.gen(function* () {
      const finalized: Array<number> = []
      const count = yield* Effect.scoped(
        Effect.gen(function* () {
          const node = yield* Node.make()
          yield* Node.runProcess(
            Effect.gen(function* () {
              for (let i = 0; i < 10; i++) {
                yield* Process.spawnLocal(
                  Effect.gen(function* () {
                    yield* Effect.addFinalizer(() => Effect.sync(() => finalized.push(i)))
                    yield* Process.expect(Never)
                  })
                )
              }
            })
          ).pipe(Effect.provideService(Node.Node, node))
          yield* Effect.yieldNow
          return (yield* Node.processes.pipe(Effect.provideService(Node.Node, node))).length
        })
      )
      assert.strictEqual(count, 10)
      assert.deepStrictEqual(
        finalized.sort((a, b) => a - b),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
      )
    })
  )

  it.effect("after the node closes its process table is empty", () =>
    Effect.gen(function* () {
      let nodeRef: Node.NodeService | undefined
      yield* Effect.scoped(
        Effect.gen(function* () {
          const node = yield* Node.make()
          nodeRef = node
          yield* Node.runProcess(
            Effect.gen(function* () {
              for (let i = 0; i < 5; i++) yield* Process.spawnLocal(Process.expect(Never))
            })
          ).pipe(Effect.provideService(Node.Node, node))
        })
      )
      const left = yield* Node.processes.pipe(Effect.provideService(Node.Node, nodeRef!))
      assert.deepStrictEqual(left, [])
    })
  )
})
