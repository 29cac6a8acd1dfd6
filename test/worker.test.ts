import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Logger, type LogLevel, References, Schema, Scope } from "effect"
import * as Backends from "../src/Backend.ts"
import { Backend } from "../src/Backend.ts"
import { Notification, Process, ProcessId, Remote } from "../src/index.ts"
import { layerWorkerHub, WorkerHub } from "../src/transport/Worker.ts"
import {
  Collected,
  chatty,
  collector,
  counter,
  crash,
  guarded,
  Ping,
  Pong,
  ponger,
  square,
  waiter,
  watcher,
  whereAmI
} from "./fixtures/tasks.ts"
import { captureLogs } from "./helpers.ts"

const tasks = new URL("./fixtures/tasks.ts", import.meta.url)
const workers = (n: number) => Backends.workerThreads(n, { module: tasks })

describe("worker-thread backend", () => {
  it.live("startMaster: spawn and call on every slave", () =>
    Effect.gen(function* () {
      const backend = yield* Backend
      assert.strictEqual(backend.master.address, "thread:0")
      assert.deepStrictEqual(
        backend.slaves.map((s) => s.address),
        ["thread:1", "thread:2"]
      )
      const results = yield* Backends.startMaster((slaves) =>
        Effect.forEach(slaves, (slave) =>
          Effect.gen(function* () {
            const me = yield* Process.self
            const pid = yield* Remote.spawn(slave, ponger(null))
            assert.strictEqual(pid.node.address, slave.address)
            yield* Process.send(pid, new Ping({ from: me, n: 1, data: new Uint8Array([1, 2, 3]) }))
            const pong = yield* Process.expect(Pong)
            assert.deepStrictEqual([...pong.data], [1, 2, 3])
            yield* Process.kill(pid, "done")
            return [yield* Remote.call(slave, square(7)), yield* Remote.call(slave, whereAmI(null))] as const
          })
        )
      )
      assert.deepStrictEqual(results, [
        [49, "thread:1"],
        [49, "thread:2"]
      ])
    }).pipe(Effect.provide(workers(2)))
  )

  it.live("ping-pong: 10,000 round trips with a worker; 64 KiB payloads arrive intact", () =>
    Effect.gen(function* () {
      yield* Backends.startMaster((slaves) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          const pid = yield* Remote.spawn(slaves[0]!, ponger(null))
          const small = new Uint8Array([7])
          const started = Date.now()
          for (let n = 0; n < 10_000; n++) {
            yield* Process.send(pid, new Ping({ from: me, n, data: small }))
            const pong = yield* Process.expect(Pong)
            if (pong.n !== n) assert.fail(`pong ${pong.n} for ping ${n}`)
          }
          const elapsed = Date.now() - started
          assert.isBelow(elapsed, 20_000, `10,000 round trips took ${elapsed} ms`)
          // big payloads: several in flight at once, each checked byte for byte
          const big = (n: number) => Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 31 + n) % 251)
          for (let n = 0; n < 8; n++) yield* Process.send(pid, new Ping({ from: me, n, data: big(n) }))
          for (let n = 0; n < 8; n++) {
            const pong = yield* Process.expect(Pong)
            assert.strictEqual(pong.n, n)
            assert.strictEqual(pong.data.length, 64 * 1024)
            assert.deepStrictEqual(pong.data, big(n))
          }
        })
      )
    }).pipe(Effect.provide(workers(1)))
  )

  it.live("worker to worker: frames routed through the main thread keep their order", () =>
    Effect.gen(function* () {
      const collected = yield* Backends.startMaster(([one, two]) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          const sink = yield* Remote.spawn(two!, collector({ reportTo: me, count: 2000 }))
          yield* Remote.spawn(one!, counter({ to: sink, count: 2000 }))
          return yield* Process.expect(Collected)
        })
      )
      assert.strictEqual(collected.node, "thread:2")
      assert.deepStrictEqual(
        collected.got,
        Array.from({ length: 2000 }, (_, i) => i)
      )
    }).pipe(Effect.provide(workers(2)))
  )

  it.live("a worker that crashes is a disconnected node; the master keeps working with the others", () => {
    const logs: Array<string> = []
    return Effect.gen(function* () {
      const hub = yield* WorkerHub
      yield* Backends.startMaster(([one, two]) =>
        Effect.gen(function* () {
          const victim = yield* Remote.spawn(one!, waiter(null))
          const survivor = yield* Remote.spawn(two!, waiter(null))
          const ref = yield* Process.monitor(victim)
          const nodeRef = yield* Process.monitorNode(one!)
          const me = yield* Process.self
          yield* Remote.spawn(two!, watcher({ target: victim, reportTo: me }))
          assert.strictEqual(yield* Process.expect(Schema.String), "watching")
          yield* Remote.spawnAsync(one!, crash(3))
          const n = yield* Process.expect(Notification.ProcessMonitorNotification)
          assert.strictEqual(n.ref.id, ref.id)
          assert.isTrue(ProcessId.equals(n.pid, victim))
          assert.strictEqual(n.reason._tag, "DiedDisconnect")
          const nn = yield* Process.expect(Notification.NodeMonitorNotification)
          assert.strictEqual(nn.ref.id, nodeRef.id)
          assert.strictEqual(nn.reason._tag, "DiedDisconnect")
          assert.deepStrictEqual(hub.workers(), ["thread:2"])
          // a process on the other worker hears of it too
          assert.strictEqual(yield* Process.expect(Schema.String), "DiedDisconnect on thread:2")
          // sends to the dead worker are dropped; monitors of its pids fire at once; calls fail
          yield* Process.send(victim, "anyone there?")
          yield* Process.monitor(victim)
          const again = yield* Process.expect(Notification.ProcessMonitorNotification)
          assert.strictEqual(again.reason._tag, "DiedDisconnect")
          const e = yield* Effect.flip(Remote.call(one!, square(2)))
          assert.strictEqual(e._tag, "CallError")
          // the other worker is fine
          assert.strictEqual(yield* Remote.call(two!, square(9)), 81)
          yield* Process.kill(survivor, "done")
        })
      )
      assert.include(logs, "worker thread:1 exited with code 3")
    }).pipe(Effect.provide(workers(2)), Effect.provide(captureLogs(logs)))
  })

  it.live("a process on one worker sees another worker's crash (terminate) as DiedDisconnect", () =>
    Effect.gen(function* () {
      const hub = yield* WorkerHub
      yield* Backends.startMaster(([one, two]) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          const victim = yield* Remote.spawn(one!, waiter(null))
          yield* Remote.spawn(two!, watcher({ target: victim, reportTo: me }))
          assert.strictEqual(yield* Process.expect(Schema.String), "watching")
          yield* hub.terminate(one!.address)
          assert.deepStrictEqual(hub.workers(), ["thread:2"])
          assert.strictEqual(yield* Process.expect(Schema.String), "DiedDisconnect on thread:2")
          // a worker that sends to the dead one (a monitor request) hears that it is lost
          yield* Remote.spawn(two!, watcher({ target: victim, reportTo: me }))
          assert.strictEqual(yield* Process.expect(Schema.String), "watching")
          assert.strictEqual(yield* Process.expect(Schema.String), "DiedDisconnect on thread:2")
          assert.strictEqual(yield* Remote.call(two!, square(3)), 9)
        })
      )
    }).pipe(Effect.provide(workers(2)))
  )

  it.live("closing the scope ends every worker thread after its processes' finalizers ran", () =>
    Effect.gen(function* () {
      const channel = `cloud-effect-test-${process.pid}-${Date.now()}`
      const finalized: Array<string> = []
      const bc = new BroadcastChannel(channel)
      bc.onmessage = (event) => {
        finalized.push(String((event as MessageEvent).data))
      }
      yield* Effect.addFinalizer(() => Effect.sync(() => bc.close()))
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(workers(2), scope)
      const hub = Context.get(context, WorkerHub)
      assert.deepStrictEqual(hub.workers(), ["thread:1", "thread:2"])
      yield* Backends.startMaster((slaves) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          for (const slave of slaves) yield* Remote.spawn(slave, guarded({ channel, reportTo: me }))
          const ready = [yield* Process.expect(Schema.String), yield* Process.expect(Schema.String)]
          assert.sameMembers(ready, ["ready thread:1", "ready thread:2"])
        })
      ).pipe(Effect.provideContext(context))
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(hub.workers(), [])
      assert.isBelow(Date.now() - started, 4000, "the workers closed before the close timeout")
      // the BroadcastChannel messages may still be on their way
      for (let i = 0; i < 50 && finalized.length < 2; i++) yield* Effect.sleep("20 millis")
      assert.sameMembers(finalized, ["finalized thread:1", "finalized thread:2"])
    })
  )

  it.live("a module that does not exist: startup fails with a typed error, without hanging", () =>
    Effect.gen(function* () {
      const missing = new URL("./fixtures/no-such-module.ts", import.meta.url)
      const started = Date.now()
      const e = yield* Effect.flip(Layer.build(Backends.workerThreads(2, { module: missing })).pipe(Effect.scoped))
      assert.strictEqual(e._tag, "BackendError")
      assert.include(e.reason, "no-such-module.ts")

      // the worker side: the thread reports that it cannot load the module
      const hubErrors = yield* Effect.gen(function* () {
        const hub = yield* WorkerHub
        const notFound = yield* Effect.flip(hub.spawnWorkers(2, { module: missing }))
        // a module without a `remoteTable` export
        const noTable = yield* Effect.flip(hub.spawnWorkers(1, { module: new URL("./helpers.ts", import.meta.url) }))
        // a timeout that makes no sense: refused before any thread starts (NaN would terminate the
        // workers at once on close, before their finalizers ran)
        const nanClose = yield* Effect.flip(hub.spawnWorkers(1, { module: missing, closeTimeout: Number.NaN }))
        return { notFound, noTable, nanClose, left: hub.workers() }
      }).pipe(Effect.scoped, Effect.provide(layerWorkerHub))
      assert.strictEqual(hubErrors.notFound._tag, "WorkerError")
      assert.include(hubErrors.notFound.reason, "cannot be loaded")
      assert.include(hubErrors.noTable.reason, "does not export `remoteTable`")
      assert.include(hubErrors.nanClose.reason, "closeTimeout NaN: expected a duration >= 0")
      assert.deepStrictEqual(hubErrors.left, [])
      assert.isBelow(Date.now() - started, 10_000)
    })
  )
})

describe("worker-thread logs", () => {
  interface Entry {
    readonly level: LogLevel.LogLevel
    readonly message: string
    readonly annotations: Record<string, unknown>
  }
  /** the main thread's only logger: records every entry with its level and annotations */
  const capture = (entries: Array<Entry>) =>
    Logger.layer([
      Logger.make(({ fiber, logLevel, message }) => {
        entries.push({
          level: logLevel,
          message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
          annotations: { ...fiber.getRef(References.CurrentLogAnnotations) }
        })
      })
    ])
  const waitFor = (entries: Array<Entry>, text: string) =>
    Effect.gen(function* () {
      for (let i = 0; i < 200 && !entries.some((e) => e.message.includes(text)); i++) yield* Effect.sleep(10)
    })

  it.live("a worker's node logs through the main thread's loggers, with its annotations and level", () => {
    const entries: Array<Entry> = []
    return Effect.gen(function* () {
      const [pid, answer] = yield* Backends.startMaster((slaves) =>
        Effect.gen(function* () {
          const answer = yield* Remote.call(slaves[0]!, chatty("hello"))
          // a spawn the worker refuses: its node logs a warning
          yield* Effect.flip(Remote.spawn(slaves[0]!, new Remote.Closure({ name: "no/such", env: new Uint8Array() })))
          return [yield* Process.self, answer] as const
        })
      )
      assert.strictEqual(answer, "hello")
      yield* waitFor(entries, "refused to spawn")
      const from = (text: string) =>
        entries.filter((e) => e.message.includes(text) && e.annotations.node === "thread:1")
      const [said] = from("hello")
      assert.strictEqual(said?.level, "Info")
      assert.match(String(said?.annotations.pid), /^pid:\/\/thread:1\//)
      // the default minimum level (Info) holds in the worker too
      assert.deepStrictEqual(from("debug: hello"), [])
      const [warned] = from("warning: hello")
      assert.strictEqual(warned?.level, "Warn")
      assert.strictEqual(warned?.message, 'warning: hello {"n":1}')
      assert.strictEqual(warned?.annotations.extra, "42")
      const [failed] = from("failed")
      assert.strictEqual(failed?.level, "Error")
      assert.include(failed?.message, "boom: hello")
      const [refused] = from("refused to spawn")
      assert.strictEqual(refused?.level, "Warn")
      assert.include(refused?.message, `"no/such" for ${pid}`)
    }).pipe(Effect.provide(workers(1)), Effect.provide(capture(entries)))
  })

  it.live("the main thread's minimum level applies in the workers", () => {
    const entries: Array<Entry> = []
    return Effect.gen(function* () {
      yield* Backends.startMaster((slaves) => Remote.call(slaves[0]!, chatty("quiet")))
      yield* waitFor(entries, "warning: quiet")
      assert.deepStrictEqual(
        entries.filter((e) => e.annotations.node === "thread:1").map((e) => e.level),
        ["Warn", "Error"]
      )
    }).pipe(
      Effect.provide(workers(1)),
      Effect.provide(capture(entries)),
      Effect.provideService(References.MinimumLogLevel, "Warn")
    )
  })
})
