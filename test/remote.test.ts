import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Schema } from "effect"
import { Node, NodeId, Notification, Process, ProcessId, Remote, Transport } from "../src/index.ts"
import type { LocalNode } from "../src/internal/node.ts"
import { captureLogs, runOn } from "./helpers.ts"

class Never extends Schema.TaggedClass<Never>()("Never", {}) {}
class Boom extends Schema.TaggedError<Boom>()("Boom", { why: Schema.String }) {}

const square = Remote.define("square", Schema.Int, (n) => Effect.succeed(n * n), Schema.Int)
const failing = Remote.define("failing", Schema.String, (why) => Effect.fail(new Boom({ why })), Schema.Int)
const echoTo = Remote.define("echoTo", ProcessId.ProcessId, (to) =>
  Effect.forever(Effect.flatMap(Process.expect(Schema.String), (s) => Process.send(to, `echo ${s}`)))
)
const waiter = Remote.define("waiter", Schema.Null, () => Process.expect(Never))
const sleeper = Remote.define("sleeper", Schema.Int, (ms) => Effect.as(Effect.sleep(ms), ms), Schema.Int)
const table = Remote.table(square, failing, echoTo, waiter, sleeper)

const expectNotification = Process.expect(Notification.ProcessMonitorNotification)

const twoNodes = Effect.gen(function* () {
  const a = yield* Node.make({ name: "a" })
  const b = yield* Node.make({ name: "b" })
  return { a, b }
})

const env = Layer.merge(Transport.layerMemory, table)

/** a class whose field takes anything, which its JSON encoding cannot (e.g. a bigint) */
class Loose extends Schema.TaggedClass<Loose>()("Loose", { value: Schema.Unknown }) {}

describe("remote spawn and call", () => {
  it.effect("a message its schema cannot encode, sent to another node, is the sender's InvalidMessage defect", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      const exit = yield* runOn(a)(
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(b.nodeId, waiter(null))
          yield* Process.send(pid, new Loose({ value: 1n }))
        })
      ).pipe(Effect.exit)
      const defect = exit._tag === "Failure" ? exit.cause.reasons.find((r) => r._tag === "Die") : undefined
      const error =
        defect?._tag === "Die" ? (defect.defect as { readonly _tag?: string; readonly message?: string }) : {}
      assert.strictEqual(error._tag, "InvalidMessage")
      assert.include(error.message ?? "", "instance of Loose that does not encode")
    }).pipe(Effect.provide(env))
  )

  it.effect("spawn a closure on another node and talk to it", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      yield* runOn(a)(
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(b.nodeId, echoTo(yield* Process.self))
          assert.strictEqual(pid.node.address, b.nodeId.address)
          yield* Process.send(pid, "hello")
          assert.strictEqual(yield* Process.expect(Schema.String), "echo hello")
          yield* Process.kill(pid, "done")
        })
      )
    }).pipe(Effect.provide(env))
  )

  it.effect("call returns the Schema-typed result; a failing body is a CallError", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      yield* runOn(a)(
        Effect.gen(function* () {
          assert.strictEqual(yield* Remote.call(b.nodeId, square(12)), 144)
          assert.strictEqual(yield* Remote.call(a.nodeId, square(3)), 9, "call on the own node works too")
          const e = yield* Effect.flip(Remote.call(b.nodeId, failing("no")))
          assert.strictEqual(e._tag, "CallError")
          assert.include(e.message, "Boom")
        })
      )
    }).pipe(Effect.provide(env))
  )

  it.effect("an unknown closure name and an env that does not decode are SpawnErrors; the node keeps serving", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      yield* Effect.gen(function* () {
        const { a, b } = yield* twoNodes
        yield* runOn(a)(
          Effect.gen(function* () {
            const unknown = yield* Effect.flip(
              Remote.spawn(b.nodeId, new Remote.Closure({ name: "nope", env: new Uint8Array() }))
            )
            assert.strictEqual(unknown._tag, "SpawnError")
            assert.include(unknown.reason, "unknown closure")
            const badEnv = yield* Effect.flip(
              Remote.spawn(b.nodeId, new Remote.Closure({ name: "square", env: new Uint8Array([255, 1, 2]) }))
            )
            assert.include(badEnv.reason, "does not decode")
            assert.strictEqual(yield* Remote.call(b.nodeId, square(5)), 25)
          })
        )
      }).pipe(Effect.provide(Layer.merge(env, captureLogs(logs))))
      assert.isTrue(logs.some((l) => l.includes("refused to spawn") && l.includes("nope")))
    })
  )

  it.effect("spawn on a node that cannot be reached fails instead of hanging", () =>
    Effect.gen(function* () {
      const { a } = yield* twoNodes
      const e = yield* runOn(a)(Effect.flip(Remote.spawn(NodeId.make("mem:nowhere"), square(1))))
      assert.strictEqual(e._tag, "SpawnError")
      assert.include(e.reason, "unreachable")
    }).pipe(Effect.provide(env))
  )

  it.effect("spawnAsync, spawnMonitor and spawnLink across nodes", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      yield* runOn(a)(
        Effect.gen(function* () {
          const ref = yield* Remote.spawnAsync(b.nodeId, waiter(null))
          const did = yield* Process.expect(Remote.DidSpawn)
          assert.strictEqual(did.ref.id, ref.id)
          const [pid, mref] = yield* Remote.spawnMonitor(b.nodeId, waiter(null))
          yield* Process.send(pid, new Never())
          const n = yield* expectNotification
          assert.strictEqual(n.ref.id, mref.id)
          assert.strictEqual(n.reason._tag, "DiedNormal")
          const me = yield* Process.self
          const [linker] = yield* Process.spawnMonitor(
            Effect.gen(function* () {
              const child = yield* Remote.spawnLink(b.nodeId, waiter(null))
              yield* Process.send(me, child)
              yield* Process.expect(Never)
            })
          )
          const child = yield* Process.expect(ProcessId.ProcessId)
          yield* Process.send(child, new Never())
          const ln = yield* expectNotification
          assert.isTrue(ProcessId.equals(ln.pid, linker))
          assert.include((ln.reason as Notification.DiedException).error, "ProcessLinkException")
          yield* Process.kill(did.pid, "done")
        })
      )
    }).pipe(Effect.provide(env))
  )
})

describe("registry across nodes", () => {
  it.effect("registerRemoteAsync, whereisRemoteAsync, nsendRemote; names of remote pids go when they die", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      yield* runOn(a)(
        Effect.gen(function* () {
          const me = yield* Process.self
          const echo = yield* Remote.spawn(b.nodeId, echoTo(me))
          yield* Process.registerRemoteAsync(b.nodeId, "echo", echo)
          const r = yield* Process.expect(Process.RegisterReply)
          assert.isTrue(r.ok)
          yield* Process.registerRemoteAsync(b.nodeId, "echo", echo)
          const again = yield* Process.expect(Process.RegisterReply)
          assert.isFalse(again.ok)
          assert.strictEqual(again.error, "taken")
          yield* Process.whereisRemoteAsync(b.nodeId, "echo")
          const w = yield* Process.expect(Process.WhereIsReply)
          assert.isTrue(w.pid !== null && ProcessId.equals(w.pid, echo))
          yield* Process.nsendRemote(b.nodeId, "echo", "via name")
          assert.strictEqual(yield* Process.expect(Schema.String), "echo via name")

          // a local name for a remote pid
          yield* Process.register("remote-echo", echo)
          yield* Process.nsend("remote-echo", "local name")
          assert.strictEqual(yield* Process.expect(Schema.String), "echo local name")
          yield* Process.monitor(echo)
          yield* Process.kill(echo, "bye")
          yield* expectNotification
          // the Died for the registry's own monitor arrives in order after ours
          yield* Process.whereisRemoteAsync(b.nodeId, "echo")
          assert.isNull((yield* Process.expect(Process.WhereIsReply)).pid)
          assert.isTrue(Option.isNone(yield* Process.whereis("remote-echo")))
        })
      )
    }).pipe(Effect.provide(env))
  )

  it.effect("getProcessInfo of a remote pid; None when it is dead or its node is gone", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      yield* runOn(a)(
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(b.nodeId, waiter(null))
          yield* Process.registerRemoteAsync(b.nodeId, "w", pid)
          yield* Process.expect(Process.RegisterReply)
          const info = Option.getOrThrow(yield* Process.getProcessInfo(pid))
          assert.strictEqual(info.node.address, b.nodeId.address)
          assert.deepStrictEqual(info.registeredNames, ["w"])
          yield* Process.monitor(pid)
          yield* Process.send(pid, new Never())
          yield* expectNotification
          assert.isTrue(Option.isNone(yield* Process.getProcessInfo(pid)))
          const gone = new ProcessId.ProcessId({ node: NodeId.make("mem:gone"), incarnation: 1, id: 1 })
          assert.isTrue(Option.isNone(yield* Process.getProcessInfo(gone)))
        })
      )
    }).pipe(Effect.provide(env))
  )

  it.effect("register of a remote pid: a dead one is ProcessNotAlive; unregister and reregister drop the monitor", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      /** the monitors held on a live process of b (the registry's among them) */
      const watchers = (pid: ProcessId.ProcessId) => (b as LocalNode).lookup(pid)?.monitoredBy.size
      yield* runOn(a)(
        Effect.gen(function* () {
          const p = yield* Remote.spawn(b.nodeId, waiter(null))
          const q = yield* Remote.spawn(b.nodeId, waiter(null))
          /** a round trip to b: every frame sent to b before it has been handled */
          const sync = Effect.asVoid(Process.getProcessInfo(p))

          yield* Process.register("p", p)
          yield* sync
          assert.strictEqual(watchers(p), 1, "the registry monitors the remote pid")
          yield* Process.unregister("p")
          yield* sync
          assert.strictEqual(watchers(p), 0, "unregister removes the registry's monitor")

          yield* Process.register("svc", p)
          yield* Process.reregister("svc", q)
          yield* sync
          assert.strictEqual(watchers(p), 0, "reregister removes the monitor of the old pid")
          assert.strictEqual(watchers(q), 1)
          yield* Process.reregister("svc", yield* Process.self)
          yield* sync
          assert.strictEqual(watchers(q), 0, "moving the name to a local pid removes it too")
          yield* Process.unregister("svc")
          yield* Process.kill(p, "bye")
          yield* Process.kill(q, "bye")
        })
      )
    }).pipe(Effect.provide(env))
  )

  it.effect("register of a dead remote pid (or of one on an unreachable node) fails with ProcessNotAlive", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      yield* runOn(a)(
        Effect.gen(function* () {
          const p = yield* Remote.spawn(b.nodeId, waiter(null))
          const q = yield* Remote.spawn(b.nodeId, waiter(null))
          // a dead remote pid is refused, as a dead local one is
          yield* Process.kill(q, "bye")
          yield* Process.monitor(q)
          yield* expectNotification
          const dead = yield* Effect.flip(Process.register("q", q))
          assert.strictEqual(dead._tag, "ProcessNotAlive")
          assert.isTrue(Option.isNone(yield* Process.whereis("q")), "the name is not kept")
          const again = yield* Effect.flip(Process.reregister("q", q))
          assert.strictEqual(again._tag, "NotRegistered")

          // and so is a pid on a node that cannot be reached
          const nowhere = new ProcessId.ProcessId({ node: NodeId.make("mem:nowhere"), incarnation: 1, id: 1 })
          assert.strictEqual((yield* Effect.flip(Process.register("n", nowhere)))._tag, "ProcessNotAlive")
          assert.isTrue(Option.isNone(yield* Process.whereis("n")))

          // registerRemoteAsync of a dead pid of another node (a's, seen from b)
          const [local] = yield* Process.spawnMonitor(Effect.void)
          yield* expectNotification
          yield* Process.registerRemoteAsync(b.nodeId, "gone", local)
          const reply = yield* Process.expect(Process.RegisterReply)
          assert.isFalse(reply.ok)
          assert.strictEqual(reply.error, "dead")

          yield* Process.register("p", p)
          assert.isTrue(ProcessId.equals(Option.getOrThrow(yield* Process.whereis("p")), p))
          yield* Process.kill(p, "bye")
        })
      )
    }).pipe(Effect.provide(env))
  )
})

describe("interrupted requests leave nothing behind", () => {
  // frames take 50 ms each way: a short timeout gives up before the reply comes
  const slow = Layer.merge(Transport.layerMemoryWith({ latency: "50 millis" }), table)
  /** messages in the current process's mailbox */
  const queued = Effect.map(Process.self, (me) => Process.getProcessInfo(me)).pipe(
    Effect.flatten,
    Effect.map((info) => Option.getOrThrow(info).messageQueueLength)
  )

  it.live("a late ProcessInfo reply, DidSpawn or CallReply is dropped; a late spawned process is killed", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      yield* runOn(a)(
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(b.nodeId, waiter(null))
          const info = yield* Process.getProcessInfo(pid).pipe(Effect.timeoutOption("5 millis"))
          assert.isTrue(Option.isNone(info), "given up")
          const spawned = yield* Remote.spawn(b.nodeId, waiter(null)).pipe(Effect.timeoutOption("5 millis"))
          assert.isTrue(Option.isNone(spawned), "given up")
          // given up while spawning: DidSpawn and then CallReply come late
          const called = yield* Remote.call(b.nodeId, square(4)).pipe(Effect.timeoutOption("5 millis"))
          assert.isTrue(Option.isNone(called), "given up")
          // given up after the spawn (100 ms), before the result (200 ms, sent before the kill lands)
          const slept = yield* Remote.call(b.nodeId, sleeper(100)).pipe(Effect.timeoutOption("130 millis"))
          assert.isTrue(Option.isNone(slept), "given up")
          // the replies arrive meanwhile
          yield* Effect.sleep("400 millis")
          assert.strictEqual(yield* queued, 0, "no late reply is left in the mailbox")
          const left = yield* Node.processes.pipe(Effect.provideService(Node.Node, b))
          assert.deepStrictEqual(left.map(String), [String(pid)], "the abandoned spawn's process was killed")
          // and the process keeps working: a request that is not given up gets its own reply
          assert.isTrue(Option.isSome(yield* Process.getProcessInfo(pid)))
          assert.strictEqual(yield* Remote.call(b.nodeId, square(5)), 25)
          yield* Process.kill(pid, "done")
        })
      )
    }).pipe(Effect.provide(slow))
  )

  it.live("a spawn given up on by a process that then ends, or that is interrupted, leaves no process behind", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      // the requester ends as soon as it gives up: the DidSpawn comes to a process that is gone
      const given = yield* runOn(a)(Remote.spawn(b.nodeId, waiter(null)).pipe(Effect.timeoutOption("5 millis")))
      assert.isTrue(Option.isNone(given), "given up")
      // the requester is interrupted from outside while it waits
      const spawning = yield* Effect.forkChild(runOn(a)(Remote.spawn(b.nodeId, waiter(null))))
      yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(spawning)
      // the replies arrive meanwhile
      yield* Effect.sleep("300 millis")
      const left = yield* Node.processes.pipe(Effect.provideService(Node.Node, b))
      assert.deepStrictEqual(left.map(String), [], "the abandoned spawns' processes were killed")
    }).pipe(Effect.provide(slow))
  )

  it.live("a call given up on while its process runs ends with no record left: the killed process still answers", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoNodes
      yield* runOn(a)(
        Effect.gen(function* () {
          for (let i = 0; i < 5; i++) {
            const r = yield* Remote.call(b.nodeId, sleeper(10_000)).pipe(Effect.timeoutOption("100 millis"))
            assert.isTrue(Option.isNone(r), "given up")
          }
          yield* Effect.sleep("300 millis")
          const left = yield* Node.processes.pipe(Effect.provideService(Node.Node, b))
          assert.strictEqual(left.length, 0, "the calls' processes were killed")
          const me = yield* Process.self
          const state = (a as unknown as LocalNode).lookup(me)!
          assert.isUndefined(state.mailbox.discard, "no abandoned request is remembered (each got its answer)")
          assert.strictEqual(yield* queued, 0, "and no answer is left in the mailbox")
        })
      )
    }).pipe(Effect.provide(slow))
  )
})
