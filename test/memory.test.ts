import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Schema, Scope } from "effect"
import {
  Channel,
  Node,
  Notification,
  PrimeFactors,
  Process,
  ProcessId,
  Remote,
  Transport,
  WorkPushing
} from "../src/index.ts"
import { captureLogs, runOn } from "./helpers.ts"

class Ping extends Schema.TaggedClass<Ping>()("Ping", { from: ProcessId.ProcessId, n: Schema.Int }) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", { n: Schema.Int, data: Schema.Uint8Array }) {}
class Never extends Schema.TaggedClass<Never>()("Never", {}) {}
class Boom extends Schema.TaggedError<Boom>()("Boom", { why: Schema.String }) {}
class Versioned extends Schema.TaggedClass<Versioned>()("Versioned", { v: Schema.Int }) {}
class VersionedV2 extends Schema.TaggedClass<VersionedV2>()("Versioned", { v: Schema.String, extra: Schema.String }) {}

const expectNotification = Process.expect(Notification.ProcessMonitorNotification)

/** two nodes, a and b, on a fresh in-memory network */
/** nodes `a` and `b` on the current transport; `closeB` shuts `b` down */
const nodesWithClosableB = Effect.gen(function* () {
  const a = yield* Node.make({ name: "a" })
  const bScope = yield* Scope.make()
  const b = yield* Node.make({ name: "b" }).pipe(Scope.provide(bScope))
  return { a, b, closeB: Scope.close(bScope, Exit.void) }
})

const twoNodes = Effect.gen(function* () {
  const a = yield* Node.make({ name: "a" })
  const b = yield* Node.make({ name: "b" })
  const net = yield* Transport.MemoryNetwork
  return { a, b, net }
})

/** a process on `node` that answers every Ping with a Pong */
const ponger = Effect.forever(
  Effect.gen(function* () {
    const ping = yield* Process.expect(Ping)
    yield* Process.send(ping.from, new Pong({ n: ping.n, data: new Uint8Array([ping.n % 256]) }))
  })
)

/** spawn `effect` on `node` from outside and return its pid */
const spawnOn = <A, E, R>(node: Node.NodeService, effect: Effect.Effect<A, E, R>) =>
  runOn(node)(Process.spawnLocal(effect))

describe("nodes on the in-memory transport", () => {
  it.effect(
    "a latency that Node's timers cannot keep (NaN, negative, over 24 days) is refused when the layer is built",
    () =>
      Effect.gen(function* () {
        for (const latency of [Number.NaN, -1, "30 days"] as const) {
          const exit = yield* Effect.exit(Layer.build(Transport.layerMemoryWith({ latency })).pipe(Effect.scoped))
          assert.isTrue(Exit.isFailure(exit), String(latency))
          assert.include(Exit.isFailure(exit) ? String(exit.cause) : "", "is not a duration from 0 to 24 days")
        }
      })
  )

  it.effect("messages cross nodes encoded and arrive as class instances, in order", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      const remote = yield* spawnOn(b, ponger)
      const got = yield* runOn(a)(
        Effect.gen(function* () {
          const me = yield* Process.self
          for (let i = 0; i < 50; i++) yield* Process.send(remote, new Ping({ from: me, n: i }))
          const out: Array<number> = []
          for (let i = 0; i < 50; i++) {
            const pong = yield* Process.expect(Pong)
            assert.instanceOf(pong, Pong)
            assert.deepStrictEqual([...pong.data], [i])
            out.push(pong.n)
          }
          return out
        })
      )
      assert.deepStrictEqual(
        got,
        Array.from({ length: 50 }, (_, i) => i)
      )
    }).pipe(Effect.provide(Transport.layerMemory))
  )

  it.effect("remote monitors: DiedNormal, DiedException, DiedUnknownId", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      const normal = yield* spawnOn(b, Process.expect(Never))
      const failing = yield* spawnOn(
        b,
        Effect.flatMap(Process.expect(Never), () => Effect.fail(new Boom({ why: "remote" })))
      )
      yield* runOn(a)(
        Effect.gen(function* () {
          yield* Process.monitor(normal)
          yield* Process.monitor(failing)
          yield* Process.send(normal, new Never())
          const n1 = yield* expectNotification
          assert.strictEqual(n1.reason._tag, "DiedNormal")
          assert.isTrue(ProcessId.equals(n1.pid, normal))
          yield* Process.send(failing, new Never())
          const n2 = yield* expectNotification
          assert.strictEqual(n2.reason._tag, "DiedException")
          assert.include((n2.reason as Notification.DiedException).error, "remote")
          yield* Process.monitor(normal)
          const n3 = yield* expectNotification
          assert.strictEqual(n3.reason._tag, "DiedUnknownId")
          // a pid from an earlier incarnation of a node is unknown too
          const stale = new ProcessId.ProcessId({ node: b.nodeId, incarnation: 1, id: normal.id })
          yield* Process.monitor(stale)
          assert.strictEqual((yield* expectNotification).reason._tag, "DiedUnknownId")
        })
      )
    }).pipe(Effect.provide(Transport.layerMemory))
  )

  it.effect("remote links fire on normal exit; remote exit and kill; unlink and unmonitor across nodes", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      const target = yield* spawnOn(b, Process.expect(Never))
      yield* runOn(a)(
        Effect.gen(function* () {
          const me = yield* Process.self
          const [linker] = yield* Process.spawnMonitor(
            Effect.gen(function* () {
              yield* Process.link(target)
              yield* Process.send(me, "linked")
              yield* Process.expect(Never)
            })
          )
          yield* Process.expect(Schema.String)
          yield* Process.send(target, new Never())
          const n = yield* expectNotification
          assert.isTrue(ProcessId.equals(n.pid, linker))
          assert.include((n.reason as Notification.DiedException).error, "DiedNormal")

          const victim = yield* spawnOn(b, Process.expect(Never))
          const unlinked = yield* spawnOn(b, Process.expect(Never))
          const ref = yield* Process.monitor(unlinked)
          yield* Process.unmonitor(ref)
          yield* Process.monitor(victim)
          yield* Process.kill(victim, "remote kill")
          const k = yield* expectNotification
          assert.include((k.reason as Notification.DiedException).error, "remote kill")

          const catcher = yield* spawnOn(
            b,
            Process.catchExit(
              Effect.andThen(Process.send(me, "ready"), Process.expect(Never)),
              Schema.String,
              (from, why) => Process.send(from, `caught ${why}`)
            )
          )
          assert.strictEqual(yield* Process.expect(Schema.String), "ready")
          yield* Process.exit(catcher, "stop please")
          assert.strictEqual(yield* Process.expect(Schema.String), "caught stop please")
          yield* Process.kill(unlinked, "x")
          assert.isTrue(Option.isNone(yield* Process.expectTimeout(Notification.ProcessMonitorNotification, 0)))
        })
      )
    }).pipe(Effect.provide(Transport.layerMemory))
  )

  it.effect("a lost connection fires monitors and links with DiedDisconnect; the next send reconnects", () =>
    Effect.gen(function* () {
      const { a, b, net } = yield* twoNodes
      const remote = yield* spawnOn(b, ponger)
      yield* runOn(a)(
        Effect.gen(function* () {
          const me = yield* Process.self
          yield* Process.send(remote, new Ping({ from: me, n: 1 }))
          yield* Process.expect(Pong)
          const ref = yield* Process.monitor(remote)
          const nref = yield* Process.monitorNode(b.nodeId)
          const [linker] = yield* Process.spawnMonitor(
            Effect.gen(function* () {
              yield* Process.link(remote)
              yield* Process.send(me, "linked")
              yield* Process.expect(Never)
            })
          )
          yield* Process.expect(Schema.String)
          net.disconnect(a.nodeId.address, b.nodeId.address)
          const seen = new Map<string, string>()
          for (let i = 0; i < 2; i++) {
            const n = yield* expectNotification
            seen.set(n.ref.id === ref.id ? "monitor" : ProcessId.equals(n.pid, linker) ? "linker" : "?", n.reason._tag)
            if (ProcessId.equals(n.pid, linker)) {
              assert.include((n.reason as Notification.DiedException).error, "DiedDisconnect")
            }
          }
          assert.deepStrictEqual(Object.fromEntries(seen), { monitor: "DiedDisconnect", linker: "DiedException" })
          const nn = yield* Process.expect(Notification.NodeMonitorNotification)
          assert.strictEqual(nn.ref.id, nref.id)
          assert.strictEqual(nn.reason._tag, "DiedDisconnect")
          // the remote process is still alive: the next send reconnects
          yield* Process.send(remote, new Ping({ from: me, n: 2 }))
          assert.strictEqual((yield* Process.expect(Pong)).n, 2)
        })
      )
    }).pipe(Effect.provide(Transport.layerMemory))
  )

  it.effect("after a connection loss, messages may have a gap but are never reordered", () =>
    Effect.gen(function* () {
      const { a, b, net } = yield* twoNodes
      const collector = yield* spawnOn(
        b,
        Effect.gen(function* () {
          const got: Array<number> = []
          while (true) {
            const n = yield* Process.expect(Schema.Number)
            if (n < 0) {
              const from = yield* Process.expect(ProcessId.ProcessId)
              yield* Process.send(from, new Pong({ n: got.length, data: new Uint8Array(got) }))
              return
            }
            got.push(n)
          }
        })
      )
      const result = yield* runOn(a)(
        Effect.gen(function* () {
          for (let i = 0; i < 100; i++) {
            yield* Process.send(collector, i)
            if (i === 40) net.disconnect(a.nodeId.address, b.nodeId.address)
            if (i % 10 === 0) yield* Effect.yieldNow
          }
          yield* Process.send(collector, -1)
          yield* Process.send(collector, yield* Process.self)
          return yield* Process.expect(Pong)
        })
      )
      const got = [...result.data]
      for (let i = 1; i < got.length; i++) assert.isTrue(got[i]! > got[i - 1]!, "increasing")
      assert.include(got, 99)
    }).pipe(Effect.provide(Transport.layerMemory))
  )

  it.effect("a node that shuts down: monitors and monitorNode see DiedNodeDown", () =>
    Effect.gen(function* () {
      const { a, b, closeB } = yield* nodesWithClosableB
      const target = yield* spawnOn(b, Process.expect(Never))
      const echo = yield* spawnOn(b, ponger)
      const ready = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        runOn(a)(
          Effect.gen(function* () {
            yield* Process.monitor(target)
            yield* Process.monitorNode(b.nodeId)
            // a round trip: b has seen the monitor (frames between two nodes stay in order)
            yield* Process.send(echo, new Ping({ from: yield* Process.self, n: 0 }))
            yield* Process.expect(Pong)
            yield* Deferred.succeed(ready, undefined)
            const n = yield* expectNotification
            const nn = yield* Process.expect(Notification.NodeMonitorNotification)
            return [n.reason._tag, nn.reason._tag]
          })
        )
      )
      yield* Deferred.await(ready)
      yield* closeB
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["DiedNodeDown", "DiedNodeDown"])
    }).pipe(Effect.provide(Transport.layerMemory))
  )

  it.effect("a node that only monitors another sees it shut down as DiedNodeDown, not a lost connection", () =>
    Effect.gen(function* () {
      const { a, b, closeB } = yield* nodesWithClosableB
      const ready = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        runOn(a)(
          Effect.gen(function* () {
            // nothing else is ever sent to b
            yield* Process.monitorNode(b.nodeId)
            yield* Deferred.succeed(ready, undefined)
            return (yield* Process.expect(Notification.NodeMonitorNotification)).reason._tag
          })
        )
      )
      yield* Deferred.await(ready)
      // let the monitor's frame land
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      yield* closeB
      assert.strictEqual(yield* Fiber.join(fiber), "DiedNodeDown")
    }).pipe(Effect.provide(Transport.layerMemory))
  )

  it.effect("a message that does not decode is dropped and logged; the node keeps serving", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      yield* Effect.gen(function* () {
        const { a, b } = yield* twoNodes
        const receiver = yield* spawnOn(
          b,
          Effect.gen(function* () {
            const from = yield* Process.expect(ProcessId.ProcessId)
            // the sender's Versioned has v: Int; this one expects v: String: it does not decode
            const r = yield* Process.expectTimeout(VersionedV2, 0)
            yield* Process.send(from, Option.isNone(r) ? "dropped" : "decoded?!")
            const info = yield* Process.getProcessInfo(yield* Process.self)
            yield* Process.send(from, Option.getOrThrow(info).messageQueueLength)
            yield* Process.send(from, (yield* Process.expect(Versioned)).v)
          })
        )
        yield* runOn(a)(
          Effect.gen(function* () {
            yield* Process.send(receiver, new Versioned({ v: 1 }))
            yield* Process.send(receiver, yield* Process.self)
            assert.strictEqual(yield* Process.expect(Schema.String), "dropped")
            assert.strictEqual(yield* Process.expect(Schema.Number), 0)
            yield* Process.send(receiver, new Versioned({ v: 2 }))
            assert.strictEqual(yield* Process.expect(Schema.Number), 2)
          })
        )
      }).pipe(Effect.provide(Layer.merge(Transport.layerMemory, captureLogs(logs))))
      assert.isTrue(
        logs.some((l) => l.includes("dropped a Versioned message") && l.includes("does not decode")),
        logs.join("\n")
      )
    })
  )

  it.effect("garbage on the wire is logged and dropped; the node keeps serving", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      yield* Effect.gen(function* () {
        const { a, b } = yield* twoNodes
        const transport = yield* Transport.Transport
        const evil = yield* transport.bind({ name: "evil" }, () => {})
        evil.send(b.nodeId.address, new Uint8Array([1, 2, 3, 4, 5, 250, 251]))
        evil.send(b.nodeId.address, new Uint8Array(0))
        const remote = yield* spawnOn(b, ponger)
        const pong = yield* runOn(a)(
          Effect.gen(function* () {
            yield* Process.send(remote, new Ping({ from: yield* Process.self, n: 9 }))
            return yield* Process.expect(Pong)
          })
        )
        assert.strictEqual(pong.n, 9)
      }).pipe(Effect.provide(Layer.merge(Transport.layerMemory, captureLogs(logs))))
      assert.isTrue(
        logs.some((l) => l.includes("mem:evil") && l.includes("not a protocol message")),
        logs.join("\n")
      )
    })
  )

  it.live("a busy job between nodes does not starve timers", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      const started = performance.now()
      let firedAfter = -1
      const timer = setTimeout(() => {
        firedAfter = performance.now() - started
      }, 20)
      // many small messages between the nodes: every hop is a microtask of the memory transport
      const sum = yield* runOn(a)(
        WorkPushing.run({
          task: PrimeFactors.primes,
          inputs: PrimeFactors.range(1, 10_000),
          nodes: [b.nodeId],
          reduce: PrimeFactors.sum
        })
      )
      const total = performance.now() - started
      clearTimeout(timer)
      assert.strictEqual(sum, 31985)
      assert.isAbove(firedAfter, 0, `the 20 ms timer had not fired when the ${total.toFixed(0)} ms job ended`)
      assert.isBelow(firedAfter, Math.max(500, total / 2))
    }).pipe(Effect.provide(Layer.merge(Transport.layerMemory, Remote.table(...PrimeFactors.tasks))))
  )

  it.effect("a SendPort sent to another node still works", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      class Ask extends Schema.TaggedClass<Ask>()("Ask", { n: Schema.Int, reply: Channel.SendPort(Schema.Int) }) {}
      const doubler = yield* spawnOn(
        b,
        Effect.forever(Effect.flatMap(Process.expect(Ask), (ask) => Channel.sendChan(ask.reply, ask.n * 2)))
      )
      const got = yield* runOn(a)(
        Effect.gen(function* () {
          const [sp, rp] = yield* Channel.newChan(Schema.Int)
          for (let i = 0; i < 5; i++) yield* Process.send(doubler, new Ask({ n: i, reply: sp }))
          const out: Array<number> = []
          for (let i = 0; i < 5; i++) out.push(yield* Channel.receiveChan(rp))
          return out
        })
      )
      assert.deepStrictEqual(got, [0, 2, 4, 6, 8])
    }).pipe(Effect.provide(Transport.layerMemory))
  )
})

/** bind a raw endpoint named `name` in `scope`, recording what it is told as short strings */
const recordingEndpoint = (name: string, scope: Scope.Scope) =>
  Effect.gen(function* () {
    const transport = yield* Transport.Transport
    const events: Array<string> = []
    const endpoint = yield* transport
      .bind({ name }, (event) =>
        events.push(event._tag === "Received" ? `${event.from}:${[...event.bytes].join(",")}` : `lost ${event.peer}`)
      )
      .pipe(Scope.provide(scope))
    return { endpoint, events }
  })

describe("the in-memory transport when an endpoint is released", () => {
  for (const latency of [0, 20]) {
    it.live(`latency ${latency}: its frames in flight arrive, then its peers see it gone; nothing after`, () =>
      Effect.gen(function* () {
        const a = yield* recordingEndpoint("a", yield* Effect.scope)
        const bScope = yield* Scope.make()
        const b = yield* recordingEndpoint("b", bScope)
        b.endpoint.send("mem:a", new Uint8Array([1]))
        b.endpoint.send("mem:a", new Uint8Array([2]))
        a.endpoint.send("mem:b", new Uint8Array([9]))
        yield* Scope.close(bScope, Exit.void)
        // sent after the close: never delivered
        b.endpoint.send("mem:a", new Uint8Array([3]))
        yield* Effect.sleep(latency * 3 + 20)
        assert.deepStrictEqual(a.events, ["mem:b:1", "mem:b:2", "lost mem:b"])
        assert.deepStrictEqual(b.events, [])
        assert.isTrue(Exit.isFailure(yield* Effect.exit(b.endpoint.connect("mem:a"))))
      }).pipe(Effect.provide(Transport.layerMemoryWith({ latency })))
    )
  }

  it.live("with a latency, a closing node's last message and Died notifications arrive before the node is lost", () =>
    Effect.gen(function* () {
      const { a, b, closeB } = yield* nodesWithClosableB
      const ready = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        runOn(a)(
          Effect.gen(function* () {
            const me = yield* Process.self
            const target = yield* runOn(b)(
              Process.spawnLocal(
                Effect.andThen(
                  Effect.addFinalizer(() => Process.send(me, "bye from a finalizer")),
                  Process.expect(Never)
                )
              )
            )
            yield* Process.monitor(target)
            yield* Process.monitorNode(b.nodeId)
            yield* Deferred.succeed(ready, undefined)
            const got: Array<string> = []
            for (let i = 0; i < 3; i++) {
              const r = yield* Process.receiveTimeout(
                "1 second",
                Process.match(Schema.String, (s) => Effect.succeed(s)),
                Process.match(Notification.ProcessMonitorNotification, (n) =>
                  Effect.succeed(`process ${n.reason._tag}`)
                ),
                Process.match(Notification.NodeMonitorNotification, (n) => Effect.succeed(`node ${n.reason._tag}`))
              )
              got.push(Option.getOrElse(r, () => "timeout"))
            }
            return got
          })
        )
      )
      yield* Deferred.await(ready)
      // b has seen both monitors (their frames took the latency)
      yield* Effect.sleep(100)
      yield* closeB
      assert.deepStrictEqual(yield* Fiber.join(fiber), [
        "bye from a finalizer",
        "process DiedNodeDown",
        "node DiedNodeDown"
      ])
    }).pipe(Effect.provide(Transport.layerMemoryWith({ latency: 20 })))
  )

  it.effect("a node's name is free as soon as its scope has closed", () =>
    Effect.gen(function* () {
      const first = yield* Scope.make()
      yield* Node.make({ name: "a" }).pipe(Scope.provide(first))
      yield* Scope.close(first, Exit.void)
      const again = yield* Node.make({ name: "a" })
      assert.strictEqual(again.nodeId.address, "mem:a")
      // still refused while the name is bound
      assert.isTrue(Exit.isFailure(yield* Effect.exit(Node.make({ name: "a" }))))
    }).pipe(Effect.provide(Transport.layerMemory))
  )

  for (const latency of [0, 50]) {
    it.live(`latency ${latency}: a node restarted at once under its name is not taken for the one that closed`, () =>
      Effect.gen(function* () {
        const a = yield* Node.make({ name: "a" })
        const first = yield* Scope.make()
        const b = yield* Node.make({ name: "b" }).pipe(Scope.provide(first))
        const wait = Process.expect(Schema.Literal("never sent"))
        const old = yield* runOn(b)(Process.spawnLocal(wait))
        const seen = yield* runOn(a)(
          Effect.gen(function* () {
            const oldRef = yield* Process.monitor(old)
            yield* Effect.sleep(latency + 10)
            yield* Scope.close(first, Exit.void)
            const again = yield* Node.make({ name: "b" })
            const fresh = yield* runOn(again)(Process.spawnLocal(wait))
            const freshRef = yield* Process.monitor(fresh)
            const seen: Array<string> = []
            for (let i = 0; i < 2; i++) {
              const n = yield* Process.expectTimeout(Notification.ProcessMonitorNotification, latency * 3 + 100)
              if (Option.isSome(n)) {
                seen.push(
                  `${n.value.ref.id === oldRef.id ? "old" : n.value.ref.id === freshRef.id ? "new" : "?"} ${n.value.reason._tag}`
                )
              }
            }
            return seen
          })
        )
        // the old incarnation's goodbye and lost connection concern its processes only
        assert.deepStrictEqual(seen, ["old DiedNodeDown"])
      }).pipe(Effect.provide(Transport.layerMemoryWith({ latency })))
    )
  }

  it.live("a restart does not hide the loss from a peer whose frames the closed node never got", () =>
    Effect.gen(function* () {
      const { a, b, closeB } = yield* nodesWithClosableB
      const wait = Process.expect(Schema.Literal("never sent"))
      const old = yield* runOn(b)(Process.spawnLocal(wait))
      const [monitored, asked] = yield* runOn(a)(
        Effect.gen(function* () {
          // a's first frames to b (a monitor, a question) are in flight when b closes: b never
          // hears of a, so says it no Goodbye; the lost connection is a's only news
          yield* Process.monitor(old)
          const asking = yield* Effect.forkChild(Process.getProcessInfo(old))
          yield* Effect.yieldNow
          yield* closeB
          // b comes back at once, and a talks to it before the loss would arrive
          const again = yield* Node.make({ name: "b" })
          yield* Process.monitor(yield* runOn(again)(Process.spawnLocal(wait)))
          const n = yield* Process.expectTimeout(Notification.ProcessMonitorNotification, "1 second")
          return [
            Option.map(n, (m) => `${String(m.pid) === String(old) ? "old" : "new"} ${m.reason._tag}`),
            yield* Fiber.join(asking).pipe(Effect.timeoutOption("1 second"))
          ] as const
        })
      )
      assert.deepStrictEqual(Option.getOrUndefined(monitored), "old DiedDisconnect")
      assert.isTrue(Option.isSome(asked), "the question is answered")
      assert.isTrue(Option.isNone(Option.getOrThrow(asked)), "with no process")
    }).pipe(Effect.provide(Transport.layerMemoryWith({ latency: 50 })))
  )

  for (const latency of [0, 20]) {
    it.live(`latency ${latency}: frames for a released endpoint never reach a new one bound at its address`, () =>
      Effect.gen(function* () {
        const y = yield* recordingEndpoint("y", yield* Effect.scope)
        const oldScope = yield* Scope.make()
        const old = yield* recordingEndpoint("x", oldScope)
        y.endpoint.send("mem:x", new Uint8Array([1]))
        yield* Scope.close(oldScope, Exit.void)
        const fresh = yield* recordingEndpoint("x", yield* Effect.scope)
        yield* Effect.sleep(latency * 3 + 20)
        assert.deepStrictEqual(old.events, [])
        assert.deepStrictEqual(fresh.events, [])
        assert.deepStrictEqual(y.events, ["lost mem:x"])
        // the new endpoint is reachable at the address
        y.endpoint.send("mem:x", new Uint8Array([2]))
        fresh.endpoint.send("mem:y", new Uint8Array([3]))
        yield* Effect.sleep(latency * 3 + 20)
        assert.deepStrictEqual(fresh.events, ["mem:y:2"])
        assert.deepStrictEqual(y.events, ["lost mem:x", "mem:x:3"])
      }).pipe(Effect.provide(Transport.layerMemoryWith({ latency })))
    )
  }

  it.live("a disconnect while a released endpoint's last frames are in flight drops them; the peer is told once", () =>
    Effect.gen(function* () {
      const a = yield* recordingEndpoint("a", yield* Effect.scope)
      const bScope = yield* Scope.make()
      const b = yield* recordingEndpoint("b", bScope)
      const net = yield* Transport.MemoryNetwork
      b.endpoint.send("mem:a", new Uint8Array([1]))
      yield* Scope.close(bScope, Exit.void)
      net.disconnect("mem:a", "mem:b")
      yield* Effect.sleep(80)
      assert.deepStrictEqual(a.events, ["lost mem:b"])
    }).pipe(Effect.provide(Transport.layerMemoryWith({ latency: 20 })))
  )
})
