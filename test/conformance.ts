/**
 * The transport conformance suite: the same tests for every transport. A harness gives two nodes,
 * `a` (where the test's own processes run) and `b` (which runs only closures from
 * fixtures/conformance-table.ts, so it can be a worker thread or another OS process), and, if it can,
 * a way to break the connection between them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema, type Scope } from "effect"
import { Channel, type Node, type NodeId, Notification, Process, ProcessId, Remote } from "../src/index.ts"
import {
  Ask,
  Blob,
  Fail,
  Job,
  Order,
  Ping,
  Pong,
  refined,
  Stop,
  selective,
  server,
  square
} from "./fixtures/conformance-table.ts"
import { captureLogs, runOn } from "./helpers.ts"

export interface Harness {
  readonly a: Node.NodeService
  readonly b: NodeId.NodeId
  /** lose the connection between a and b (both sides see it); absent if the transport can't */
  readonly disconnect?: Effect.Effect<void>
  /** a well-formed address of this transport where no node listens */
  readonly nowhere: NodeId.NodeId
}

const expectNotification = Process.expect(Notification.ProcessMonitorNotification)

export const conformance = <E>(
  name: string,
  setup: Effect.Effect<Harness, E, Scope.Scope>,
  options: {
    readonly live?: boolean
    readonly roundTrips?: number
    /** the harness provides `disconnect` (the disconnect test is only defined then) */
    readonly disconnects?: boolean
  } = {}
) => {
  const test = options.live ? it.live : it.effect
  const onA = <A, E2>(body: (h: Harness) => Effect.Effect<A, E2, Process.Process>) =>
    Effect.scoped(Effect.flatMap(setup, (h) => runOn(h.a)(body(h))))

  describe(`transport conformance: ${name}`, () => {
    test(`ping-pong ${options.roundTrips ?? 10_000} round trips`, () =>
      onA((h) =>
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(h.b, server(null))
          const me = yield* Process.self
          const n = options.roundTrips ?? 10_000
          for (let i = 0; i < n; i++) {
            yield* Process.send(pid, new Ping({ from: me, n: i }))
            const pong = yield* Process.expect(Pong)
            if (pong.n !== i) assert.fail(`round trip ${i} got ${pong.n}`)
          }
          yield* Process.send(pid, new Stop())
        })
      ))

    test("a 64 KiB message crosses intact; one-way messages keep their order", () =>
      onA((h) =>
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(h.b, server(null))
          const me = yield* Process.self
          const data = new Uint8Array(64 * 1024).map((_, i) => (i * 31) % 251)
          yield* Process.send(pid, new Blob({ from: me, data }))
          for (let i = 0; i < 1000; i++) yield* Process.send(pid, new Ping({ from: me, n: i }))
          const back = yield* Process.expect(Blob)
          assert.deepStrictEqual(back.data, data)
          for (let i = 0; i < 1000; i++) assert.strictEqual((yield* Process.expect(Pong)).n, i)
          yield* Process.send(pid, new Stop())
        })
      ))

    test("selective receive on the remote node takes the oldest match and keeps the rest in order", () =>
      onA((h) =>
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(h.b, selective(yield* Process.self))
          yield* Process.send(pid, "s1")
          yield* Process.send(pid, new Pong({ n: 1 }))
          yield* Process.send(pid, "s2")
          yield* Process.send(pid, new Pong({ n: 2 }))
          yield* Process.send(pid, "go")
          const order = yield* Process.expect(Order)
          assert.deepStrictEqual(order.tags, ["pong1", "pong2", "s1", "s2"])
        })
      ))

    test("a message that fails the receiver's own refinement of its class stays in the mailbox", () =>
      onA((h) =>
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(h.b, refined(yield* Process.self))
          yield* Process.send(pid, new Job({ n: -1 }))
          yield* Process.send(pid, new Job({ n: 5 }))
          yield* Process.send(pid, "go")
          const order = yield* Process.expect(Order)
          assert.deepStrictEqual(order.tags, ["5", "-1"])
        })
      ))

    test("a SendPort crosses to the other node and values come back on the channel", () =>
      onA((h) =>
        Effect.gen(function* () {
          const pid = yield* Remote.spawn(h.b, server(null))
          const [sp, rp] = yield* Channel.newChan(Schema.Int)
          for (let i = 0; i < 10; i++) yield* Process.send(pid, new Ask({ n: i, reply: sp }))
          for (let i = 0; i < 10; i++) assert.strictEqual(yield* Channel.receiveChan(rp), i * 2)
          yield* Process.send(pid, new Stop())
        })
      ))

    test("monitor and link on normal exit, on an exception, and of an unknown pid", () =>
      onA((h) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          const [p1, r1] = yield* Remote.spawnMonitor(h.b, server(null))
          const [linker] = yield* Process.spawnMonitor(
            Effect.gen(function* () {
              yield* Process.link(p1)
              yield* Process.send(me, "linked")
              yield* Process.expect(Stop)
            })
          )
          yield* Process.expect(Schema.Literal("linked"))
          yield* Process.send(p1, new Stop())
          const seen = [yield* expectNotification, yield* expectNotification]
          const normal = seen.find((n) => n.ref.id === r1.id)!
          assert.strictEqual(normal.reason._tag, "DiedNormal")
          const linked = seen.find((n) => ProcessId.equals(n.pid, linker))!
          assert.include((linked.reason as Notification.DiedException).error, "DiedNormal")

          const [p2] = yield* Remote.spawnMonitor(h.b, server(null))
          yield* Process.send(p2, new Fail({ why: "on purpose" }))
          const failed = yield* expectNotification
          assert.strictEqual(failed.reason._tag, "DiedException")
          assert.include((failed.reason as Notification.DiedException).error, "on purpose")

          yield* Process.monitor(p2)
          assert.strictEqual((yield* expectNotification).reason._tag, "DiedUnknownId")
        })
      ))

    test("registry across nodes: registerRemoteAsync, whereisRemoteAsync, nsendRemote", () =>
      onA((h) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          const pid = yield* Remote.spawn(h.b, server(null))
          yield* Process.registerRemoteAsync(h.b, "server", pid)
          assert.isTrue((yield* Process.expect(Process.RegisterReply)).ok)
          yield* Process.whereisRemoteAsync(h.b, "server")
          const w = yield* Process.expect(Process.WhereIsReply)
          assert.isTrue(w.pid !== null && ProcessId.equals(w.pid, pid))
          yield* Process.nsendRemote(h.b, "server", new Ping({ from: me, n: 42 }))
          assert.strictEqual((yield* Process.expect(Pong)).n, 42)
          const info = Option.getOrThrow(yield* Process.getProcessInfo(pid))
          assert.deepStrictEqual(info.registeredNames, ["server"])
          yield* Process.send(pid, new Stop())
        })
      ))

    test("spawn: a good closure, an unknown name, a bad env; call; the refusing node logs why", () => {
      // the nodes' (and a worker's forwarded) logs
      const logs: Array<string> = []
      return Effect.scoped(
        Effect.flatMap(setup.pipe(Effect.provide(captureLogs(logs))), (h) =>
          runOn(h.a)(
            Effect.gen(function* () {
              assert.strictEqual(yield* Remote.call(h.b, square(11)), 121)
              const unknown = yield* Effect.flip(
                Remote.spawn(h.b, new Remote.Closure({ name: "no/such/closure", env: new Uint8Array() }))
              )
              assert.include(unknown.reason, "unknown closure")
              const badEnv = yield* Effect.flip(
                Remote.spawn(h.b, new Remote.Closure({ name: square.name, env: new Uint8Array([0xff, 0xfe]) }))
              )
              assert.include(badEnv.reason, "does not decode")
              assert.strictEqual(yield* Remote.call(h.b, square(3)), 9)
              const refused = () => logs.filter((line) => line.startsWith("refused to spawn"))
              for (let i = 0; i < 200 && refused().length < 2; i++) yield* Effect.yieldNow
              assert.deepStrictEqual(
                // (less the requester's pid)
                refused().map((line) => line.replace(/ for pid:\S+:/, ":")),
                [
                  'refused to spawn "no/such/closure": not in this node\'s RemoteTable',
                  'refused to spawn "conformance/square": the environment does not decode'
                ]
              )
            })
          )
        )
      )
    })

    const disconnectTest = options.disconnects ? test : undefined
    disconnectTest?.("a lost connection: monitors and links fire DiedDisconnect; the next send reconnects", () =>
      onA((h) =>
        Effect.gen(function* () {
          if (h.disconnect === undefined) return yield* Effect.die("the harness has no disconnect")
          const me = yield* Process.self
          const [pid, ref] = yield* Remote.spawnMonitor(h.b, server(null))
          const nodeRef = yield* Process.monitorNode(h.b)
          yield* Process.send(pid, new Ping({ from: me, n: 0 }))
          yield* Process.expect(Pong)
          yield* h.disconnect
          const n = yield* expectNotification
          assert.strictEqual(n.ref.id, ref.id)
          assert.strictEqual(n.reason._tag, "DiedDisconnect")
          const nn = yield* Process.expect(Notification.NodeMonitorNotification)
          assert.strictEqual(nn.ref.id, nodeRef.id)
          yield* Process.send(pid, new Ping({ from: me, n: 1 }))
          assert.strictEqual((yield* Process.expect(Pong)).n, 1)
          yield* Process.send(pid, new Stop())
        })
      )
    )

    test("spawn on an address where no node listens is a SpawnError, not a hang", () =>
      onA((h) =>
        Effect.gen(function* () {
          const e = yield* Effect.flip(Remote.spawn(h.nowhere, square(1)))
          assert.strictEqual(e._tag, "SpawnError")
          // refused for want of a node there, not for the form of the address
          assert.notMatch(e.reason, /not a .*address/, e.reason)
        })
      ))
  })
}
