/**
 * The TCP transport: nodes in this process and in child processes, the endpoint API, the handshake,
 * heartbeats, and a node that keeps serving while peers send it garbage.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as Net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Redacted, Schema, Scope } from "effect"
import { Backend, Node, NodeId, Notification, Process, ProcessId, Protocol, Remote, Transport } from "../src/index.ts"
import * as Framing from "../src/internal/framing.ts"
import * as Handshake from "../src/internal/handshake.ts"
import { layerTcp, type TcpOptions } from "../src/transport/Tcp.ts"
import { Ping, Pong, ponger } from "./fixtures/tcp-node.ts"
import { captureLogs, runOn } from "./helpers.ts"

const cookie = "tcp-test-cookie"

const tcp = (options: Partial<TcpOptions> = {}) =>
  layerTcp({
    host: "127.0.0.1",
    port: 0,
    cookie,
    heartbeatInterval: "200 millis",
    heartbeatTimeout: "1 second",
    connectTimeout: "2 seconds",
    ...options
  })

/** a node on its own TCP endpoint, in the current scope */
const tcpNode = (options: Partial<TcpOptions> = {}) => Node.make().pipe(Effect.provide(tcp(options)))

const portOf = (node: Node.NodeService): number => Number(node.nodeId.address.split(":").at(-1))

const spawnOn = <A, E, R>(node: Node.NodeService, effect: Effect.Effect<A, E, R>) =>
  runOn(node)(Process.spawnLocal(effect))

class Never extends Schema.TaggedClass<Never>()("Never", {}) {}

const expectNotification = Process.expect(Notification.ProcessMonitorNotification)

/** one ping-pong round trip from the current process */
const roundTrip = (to: ProcessId.ProcessId, n: number) =>
  Effect.gen(function* () {
    yield* Process.send(to, new Ping({ from: yield* Process.self, n }))
    return yield* Process.expect(Pong)
  })

/** wait until `check` holds, polling */
const eventually = (check: () => boolean, what: string, millis = 5000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + millis
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })

// -------------------------------------------------------------------------------------------------
// raw sockets, for peers that misbehave

interface RawPeer {
  readonly socket: Net.Socket
  /** frames received, in order */
  readonly frames: Array<readonly [number, Uint8Array]>
  closed: boolean
}

const rawConnect = (port: number) =>
  Effect.acquireRelease(
    Effect.callback<RawPeer, Error>((resume) => {
      const socket = Net.connect({ host: "127.0.0.1", port })
      const peer: RawPeer = { socket, frames: [], closed: false }
      const decoder = new Framing.FrameDecoder(Framing.MAX_LENGTH)
      socket.on("data", (chunk) => {
        decoder.push(chunk, (type, payload) => peer.frames.push([type, new Uint8Array(payload)]))
      })
      socket.on("close", () => {
        peer.closed = true
      })
      socket.on("error", () => {})
      socket.once("connect", () => resume(Effect.succeed(peer)))
      socket.once("error", (error) => resume(Effect.fail(error)))
    }),
    (peer) => Effect.sync(() => peer.socket.destroy())
  )

const rawWrite = (peer: RawPeer, bytes: Uint8Array) => Effect.sync(() => peer.socket.write(bytes))

/** the next handshake message the raw peer received */
const rawNext = (peer: RawPeer) =>
  Effect.gen(function* () {
    yield* eventually(() => peer.frames.some(([t]) => t === Handshake.FrameType.Handshake) || peer.closed, "a frame")
    const index = peer.frames.findIndex(([t]) => t === Handshake.FrameType.Handshake)
    if (index < 0) return yield* Effect.die(new Error("closed before a handshake message"))
    const [[, payload]] = peer.frames.splice(index, 1) as [readonly [number, Uint8Array]]
    return Handshake.decode(payload)!
  })

/** the connecting side of the handshake, as a raw peer announcing `address` */
const rawHandshake = (
  peer: RawPeer,
  options: { readonly cookie?: string; readonly address?: string; readonly version?: number } = {}
) =>
  Effect.gen(function* () {
    const key = Handshake.cookieKey(options.cookie ?? cookie)
    const nonce = Handshake.newNonce()
    const hello = new Handshake.Hello({
      version: options.version ?? Handshake.VERSION,
      address: options.address ?? "tcp://127.0.0.1:1",
      nonce
    })
    yield* rawWrite(peer, Framing.encodeFrame(Handshake.FrameType.Handshake, Handshake.encode(hello)))
    const challenge = yield* rawNext(peer)
    if (challenge._tag !== "Challenge") return challenge
    // the raw peer does not check the node's proof: it answers whatever its cookie gives
    const proof = new Handshake.Proof({ proof: Handshake.prove(key, challenge.nonce, "client") })
    yield* rawWrite(peer, Framing.encodeFrame(Handshake.FrameType.Handshake, Handshake.encode(proof)))
    return yield* rawNext(peer)
  })

const waitClosed = (peer: RawPeer, millis = 5000) =>
  eventually(() => peer.closed, "the node to close the socket", millis)

/**
 * a raw accepting peer: answers the handshake correctly, then only counts what it receives (it
 * sends no heartbeats)
 */
const rawServer = Effect.gen(function* () {
  const key = Handshake.cookieKey(cookie)
  const state = { chunks: 0, frames: 0, heartbeats: 0, hello: undefined as Handshake.Hello | undefined }
  const server = yield* Effect.acquireRelease(
    Effect.callback<Net.Server>((resume) => {
      const server = Net.createServer((socket) => {
        let challenge: Handshake.Challenge | undefined
        let open = false
        const decoder = new Framing.FrameDecoder(Framing.MAX_LENGTH)
        const reply = (m: Handshake.Message) =>
          socket.write(Framing.encodeFrame(Handshake.FrameType.Handshake, Handshake.encode(m)))
        socket.on("error", () => {})
        socket.on("data", (chunk) => {
          if (open) state.chunks++
          decoder.push(chunk, (type, payload) => {
            if (type === Handshake.FrameType.Data) state.frames++
            if (type === Handshake.FrameType.Heartbeat) state.heartbeats++
            if (type !== Handshake.FrameType.Handshake) return
            const m = Handshake.decode(payload)
            if (m?._tag === "Hello") {
              state.hello = m
              const answer = Handshake.answerHello(key, m)
              if (answer._tag === "Challenge") challenge = answer
              reply(answer)
            } else if (m?._tag === "Proof" && challenge !== undefined) {
              assert.isUndefined(Handshake.checkProof(key, challenge, m))
              reply(new Handshake.Accepted({}))
              open = true
            }
          })
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )
  return { address: `tcp://127.0.0.1:${(server.address() as Net.AddressInfo).port}`, state }
})

/** a victim node with a ponger, a good peer node, and captured logs */
const victimSetup = (logs: Array<string>) =>
  Effect.gen(function* () {
    const victim = yield* tcpNode()
    const good = yield* tcpNode()
    const echo = yield* spawnOn(victim, ponger)
    const stillServes = runOn(good)(
      Effect.gen(function* () {
        const pong = yield* roundTrip(echo, 42)
        assert.strictEqual(pong.n, 42)
      })
    )
    return { victim, good, echo, stillServes, port: portOf(victim), logs }
  }).pipe(Effect.provide(captureLogs(logs)))

const hasLog = (logs: ReadonlyArray<string>, ...parts: ReadonlyArray<string>) =>
  logs.some((l) => parts.every((p) => l.includes(p)))

const waitLog = (logs: ReadonlyArray<string>, ...parts: ReadonlyArray<string>) =>
  eventually(() => hasLog(logs, ...parts), `a log line with ${parts.join(" + ")}`).pipe(
    Effect.catchDefect((e) => Effect.die(new Error(`${String(e)}; logs:\n${logs.join("\n")}`)))
  )

// -------------------------------------------------------------------------------------------------

describe("TCP transport: nodes in one process", () => {
  it.live("a node that cannot be reached back at the address it advertises hears of a disconnect, not silence", () => {
    const logs: Array<string> = []
    return Effect.gen(function* () {
      // `a` listens on 127.0.0.1 but tells its peers 127.0.0.2 (loopback, where nothing listens):
      // `b` can read what `a` sends but cannot answer
      const a = yield* tcpNode({ advertiseHost: "127.0.0.2" })
      // (where 127.0.0.2 is not loopback, as on macOS, the connection fails by this timeout)
      const b = yield* tcpNode({ connectTimeout: "1 second" })
      const echo = yield* spawnOn(b, ponger)
      const seen = yield* runOn(a)(
        Effect.gen(function* () {
          yield* Process.monitor(echo)
          yield* Process.send(echo, new Ping({ from: yield* Process.self, n: 1 }))
          return yield* Process.receiveTimeout(
            "5 seconds",
            Process.match(Pong, () => Effect.succeed("pong")),
            Process.match(Notification.ProcessMonitorNotification, (n) => Effect.succeed(n.reason._tag))
          )
        })
      )
      assert.deepStrictEqual(seen, Option.some("DiedDisconnect"))
      // the misconfiguration is said on the node that closed the connection, as a warning
      assert.isTrue(
        logs.some((l) => l.includes(`closed the connection from ${a.nodeId.address}: cannot connect back`)),
        logs.join("\n")
      )
    }).pipe(Effect.provide(captureLogs(logs)))
  })

  it.live("10,000 round trips, per-pair order, remote monitors", () =>
    Effect.gen(function* () {
      const a = yield* tcpNode()
      const b = yield* tcpNode()
      assert.match(a.nodeId.address, /^tcp:\/\/127\.0\.0\.1:\d+$/)
      assert.notStrictEqual(a.nodeId.address, b.nodeId.address)
      const echo = yield* spawnOn(b, ponger)
      const collector = yield* spawnOn(
        b,
        Effect.gen(function* () {
          const got: Array<number> = []
          while (true) {
            const n = yield* Process.expect(Schema.Number)
            if (n < 0) break
            got.push(n)
          }
          const from = yield* Process.expect(ProcessId.ProcessId)
          yield* Process.send(from, got.length)
          for (let i = 0; i < got.length; i++)
            if (got[i] !== i) return yield* Process.send(from, `out of order at ${i}`)
          yield* Process.send(from, "in order")
        })
      )
      const normal = yield* spawnOn(b, Process.expect(Never))
      yield* runOn(a)(
        Effect.gen(function* () {
          const me = yield* Process.self
          const started = Date.now()
          for (let i = 0; i < 10_000; i++) {
            const pong = yield* roundTrip(echo, i)
            if (pong.n !== i) assert.fail(`pong ${pong.n} for ping ${i}`)
          }
          yield* Effect.logDebug(`10,000 round trips in ${Date.now() - started} ms`)
          // per-pair FIFO: a burst of 20,000 sends arrives in order
          for (let i = 0; i < 20_000; i++) yield* Process.send(collector, i)
          yield* Process.send(collector, -1)
          yield* Process.send(collector, me)
          assert.strictEqual(yield* Process.expect(Schema.Number), 20_000)
          assert.strictEqual(yield* Process.expect(Schema.String), "in order")
          // a remote monitor
          yield* Process.monitor(normal)
          yield* Process.send(normal, new Never())
          const n = yield* expectNotification
          assert.strictEqual(n.reason._tag, "DiedNormal")
          assert.isTrue(ProcessId.equals(n.pid, normal))
        })
      )
    })
  )

  it.live("both directions at once, and a monitor on an unreachable node fires DiedDisconnect", () =>
    Effect.gen(function* () {
      const a = yield* tcpNode()
      const b = yield* tcpNode()
      const echoA = yield* spawnOn(a, ponger)
      const echoB = yield* spawnOn(b, ponger)
      const burst = (node: Node.NodeService, to: ProcessId.ProcessId) =>
        runOn(node)(
          Effect.gen(function* () {
            const me = yield* Process.self
            for (let i = 0; i < 2000; i++) yield* Process.send(to, new Ping({ from: me, n: i }))
            for (let i = 0; i < 2000; i++) assert.strictEqual((yield* Process.expect(Pong)).n, i)
          })
        )
      yield* Effect.all([burst(a, echoB), burst(b, echoA)], { concurrency: 2 })
      // nothing listens on port 1
      const ghost = new ProcessId.ProcessId({ node: NodeId.make("tcp://127.0.0.1:1"), incarnation: 1, id: 1 })
      const reason = yield* runOn(a)(
        Effect.gen(function* () {
          yield* Process.monitor(ghost)
          return (yield* expectNotification).reason._tag
        })
      )
      assert.strictEqual(reason, "DiedDisconnect")
    })
  )

  it.live("a node that shuts down: its goodbye arrives (DiedNodeDown), then its port is closed", () =>
    Effect.gen(function* () {
      const a = yield* tcpNode()
      const bScope = yield* Scope.make()
      const b = yield* tcpNode().pipe(Scope.provide(bScope))
      const target = yield* spawnOn(b, Process.expect(Never))
      const echo = yield* spawnOn(b, ponger)
      const ready = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        runOn(a)(
          Effect.gen(function* () {
            yield* Process.monitor(target)
            yield* roundTrip(echo, 0)
            yield* Deferred.succeed(ready, undefined)
            return (yield* expectNotification).reason._tag
          })
        )
      )
      yield* Deferred.await(ready)
      const port = portOf(b)
      yield* Scope.close(bScope, Exit.void)
      assert.strictEqual(yield* Fiber.join(fiber), "DiedNodeDown")
      // nothing listens any more: a new connection is refused
      const refused = yield* Effect.exit(rawConnect(port).pipe(Effect.scoped))
      assert.isTrue(Exit.isFailure(refused))
      assert.include(String(Exit.isFailure(refused) ? refused.cause : ""), "ECONNREFUSED")
    })
  )
})

describe("TCP transport: resources", () => {
  /** TCP handles and timers of this process */
  const handles = () => {
    const resources = process.getActiveResourcesInfo()
    return {
      tcp: resources.filter((r) => r.startsWith("TCP")).length,
      timers: resources.filter((r) => r === "Timeout").length
    }
  }

  it.live("closing the scope closes the servers, sockets, fibers and timers", () =>
    Effect.gen(function* () {
      // the earlier tests left nothing open either
      yield* eventually(() => handles().tcp === 0, "the sockets of earlier tests to close")
      const before = handles()
      const ports = yield* Effect.gen(function* () {
        const a = yield* tcpNode()
        const b = yield* tcpNode()
        const echoA = yield* spawnOn(a, ponger)
        const echoB = yield* spawnOn(b, ponger)
        yield* runOn(a)(roundTrip(echoB, 1))
        yield* runOn(b)(roundTrip(echoA, 2))
        // two servers, and two connections (one per direction) with two ends each
        assert.strictEqual(handles().tcp, 6)
        return [portOf(a), portOf(b)]
      }).pipe(Effect.scoped)
      yield* eventually(() => {
        const now = handles()
        return now.tcp === 0 && now.timers <= before.timers
      }, "every handle to close")
      for (const port of ports) {
        const refused = yield* Effect.exit(rawConnect(port).pipe(Effect.scoped))
        assert.isTrue(Exit.isFailure(refused))
        assert.include(String(Exit.isFailure(refused) ? refused.cause : ""), "ECONNREFUSED")
      }
    })
  )
})

describe("TCP transport: endpoints", () => {
  it.live("frames of mixed sizes arrive in order and intact; connect succeeds or fails", () => {
    const logs: Array<string> = []
    return Effect.gen(function* () {
      const transport = yield* Transport.Transport
      const received: Array<Uint8Array> = []
      const events: Array<string> = []
      const a = yield* transport.bind({}, (e) => {
        if (e._tag === "ConnectionLost") events.push(e.peer)
      })
      const b = yield* transport.bind({}, (e) => {
        if (e._tag === "Received") {
          assert.strictEqual(e.from, a.address)
          received.push(e.bytes)
        } else events.push(e.peer)
      })
      yield* a.connect(b.address)
      const sizes = [0, 1, 5, 100, 70_000, 1_000_000, 3, 200_000]
      const frames: Array<Uint8Array> = []
      for (let i = 0; i < 5000; i++) {
        const size = i % 50 === 0 ? sizes[(i / 50) % sizes.length]! : (i % 13) * 7
        const f = new Uint8Array(size + 4)
        new DataView(f.buffer).setUint32(0, i)
        for (let j = 4; j < f.length; j++) f[j] = (i + j) & 0xff
        frames.push(f)
      }
      for (const f of frames) a.send(b.address, f)
      yield* eventually(() => received.length === frames.length, "every frame", 10_000)
      for (let i = 0; i < frames.length; i++) {
        const got = received[i]!
        assert.strictEqual(new DataView(got.buffer, got.byteOffset).getUint32(0), i)
        assert.isTrue(Buffer.from(got).equals(Buffer.from(frames[i]!)), `frame ${i}`)
      }
      const failed = yield* Effect.flip(a.connect("tcp://127.0.0.1:1"))
      assert.strictEqual(failed._tag, "TransportError")
      const bad = yield* Effect.flip(a.connect("udp://nowhere"))
      assert.include(bad.reason, "not a tcp://host:port address")
      assert.deepStrictEqual(events, ["tcp://127.0.0.1:1", "udp://nowhere"])
      assert.isTrue(
        logs.some((line) => line.includes("closed the connection to udp://nowhere: not a tcp://host:port address")),
        "the bad address is logged"
      )
    }).pipe(Effect.provide(tcp()), Effect.provide(captureLogs(logs)))
  })

  it.live("a peer that restarts at the same address: each loss is reported once, the next send reconnects", () =>
    Effect.gen(function* () {
      const transport = yield* Transport.Transport
      const events: Array<string> = []
      const a = yield* transport.bind({}, (e) => events.push(e._tag === "Received" ? "received" : `lost ${e.peer}`))
      const got: Array<number> = []
      const onB = (e: Transport.TransportEvent) => {
        if (e._tag === "Received") got.push(e.bytes[0]!)
      }
      const bScope = yield* Scope.make()
      const b = yield* transport.bind({}, onB).pipe(Scope.provide(bScope))
      a.send(b.address, new Uint8Array([1]))
      yield* eventually(() => got.length === 1, "the first frame")
      yield* Scope.close(bScope, Exit.void)
      yield* eventually(() => events.length === 1, "the loss")
      a.send(b.address, new Uint8Array([2])) // refused: dropped, and reported lost
      yield* eventually(() => events.length === 2, "the refused connection")
      const port = Number(b.address.split(":").at(-1))
      const again = yield* Effect.flatMap(Transport.Transport, (t) => t.bind({}, onB)).pipe(
        Effect.provide(tcp({ port }))
      )
      assert.strictEqual(again.address, b.address)
      a.send(b.address, new Uint8Array([3]))
      yield* eventually(() => got.length === 2, "the frame after the restart")
      assert.deepStrictEqual(got, [1, 3])
      assert.deepStrictEqual(events, [`lost ${b.address}`, `lost ${b.address}`])
    }).pipe(Effect.provide(tcp()))
  )

  it.live("under load, several frames go out in one socket write (against a raw accepting peer)", () =>
    Effect.gen(function* () {
      const raw = yield* rawServer
      const transport = yield* Transport.Transport
      const a = yield* transport.bind({}, () => {})
      yield* a.connect(raw.address)
      assert.strictEqual(raw.state.hello?.address, a.address)
      for (let i = 0; i < 2000; i++) a.send(raw.address, new Uint8Array(100).fill(i & 0xff))
      yield* eventually(() => raw.state.frames === 2000, "every frame")
      assert.isBelow(raw.state.chunks, 100, `${raw.state.chunks} socket reads for 2000 frames`)
    }).pipe(Effect.provide(tcp()))
  )

  it.live("an accepting peer that goes silent is dropped after the heartbeat timeout and reported lost", () => {
    const logs: Array<string> = []
    return Effect.gen(function* () {
      const raw = yield* rawServer
      const transport = yield* Transport.Transport
      const lost: Array<string> = []
      const a = yield* transport.bind({}, (e) => {
        if (e._tag === "ConnectionLost") lost.push(e.peer)
      })
      yield* a.connect(raw.address)
      const started = Date.now()
      yield* eventually(() => lost.length > 0, "the loss", 3000)
      assert.isAtLeast(Date.now() - started, 900)
      assert.deepStrictEqual(lost, [raw.address])
      yield* waitLog(logs, `closed the connection to ${raw.address}`, "heartbeat timeout")
      // the raw peer saw heartbeats while it was connected
      assert.isAbove(raw.state.heartbeats, 2)
    }).pipe(Effect.provide(Layer.merge(tcp(), captureLogs(logs))))
  })

  it.effect("options that make no sense are a TransportError when binding, before anything listens", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [Partial<TcpOptions>, string]> = [
        [{ port: -1 }, "port -1"],
        [{ port: 1.5 }, "port 1.5"],
        [{ port: 70_000 }, "port 70000"],
        [{ host: "0.0.0.0" }, "give advertiseHost"],
        [{ host: "" }, "give advertiseHost"],
        [{ host: "::0" }, "give advertiseHost"],
        [{ advertiseHost: "" }, "cannot be given to peers"],
        [{ advertiseHost: "0" }, "cannot be given to peers"],
        [{ advertiseHost: "10.0.0.5:4000" }, "cannot be given to peers"],
        [{ advertiseHost: "tcp://10.0.0.5" }, "cannot be given to peers"],
        [{ advertiseHost: "a b" }, "cannot be given to peers"],
        [{ cookie: "" }, "the cookie is empty"],
        [{ cookie: "  " }, "the cookie is empty"],
        [{ maxFrameSize: Number.NaN }, "maxFrameSize NaN"],
        [{ maxFrameSize: 100 }, "maxFrameSize 100"],
        [{ heartbeatInterval: 0 }, "heartbeatInterval 0"],
        [{ heartbeatTimeout: Number.NaN }, "heartbeatTimeout NaN"],
        [{ heartbeatTimeout: "200 millis" }, "must be above heartbeatInterval"],
        [{ heartbeatInterval: "10 seconds", heartbeatTimeout: undefined }, "5000 ms (the default) must be above"],
        [{ connectTimeout: "soon" as never }, "connectTimeout soon"]
      ]
      for (const [options, reason] of cases) {
        const error = yield* Effect.flip(
          Effect.flatMap(Transport.Transport, (t) => t.bind({}, () => {})).pipe(Effect.provide(tcp(options)))
        )
        assert.strictEqual(error._tag, "TransportError", JSON.stringify(options))
        assert.include(error.reason, reason)
      }
      // what makes sense still binds: a host name to advertise, durations as numbers (millis) or
      // Infinity (no watchdog, no connect limit), a frame limit above the wire's (capped)
      const endpoint = yield* Effect.flatMap(Transport.Transport, (t) => t.bind({}, () => {})).pipe(
        Effect.provide(
          tcp({
            advertiseHost: "localhost",
            heartbeatInterval: 200,
            heartbeatTimeout: Number.POSITIVE_INFINITY,
            connectTimeout: "Infinity",
            maxFrameSize: Number.POSITIVE_INFINITY
          })
        )
      )
      assert.match(endpoint.address, /^tcp:\/\/localhost:\d+$/)
    }).pipe(Effect.scoped)
  )

  it.effect("Backend.awaitSlaves: a count or a timeout that makes no sense fails at once with a BackendError", () =>
    Effect.gen(function* () {
      const nan = yield* Effect.flip(Backend.awaitSlaves(Number.NaN, { timeout: "1 minute" }))
      assert.include(nan.reason, "NaN slaves is not an integer >= 0")
      const timeout = yield* Effect.flip(Backend.awaitSlaves(1, { timeout: Number.NaN }))
      assert.include(timeout.reason, "the timeout NaN is not a duration >= 0")
      assert.deepStrictEqual(yield* Backend.awaitSlaves(0, { timeout: 0 }), [])
    }).pipe(
      Effect.provide(
        Backend.tcpMaster({
          host: "127.0.0.1",
          port: 0,
          cookie: Redacted.make(cookie),
          table: Remote.table(),
          slaves: []
        })
      )
    )
  )

  it.live("listening on a port in use fails with a TransportError", () =>
    Effect.gen(function* () {
      const transport = yield* Transport.Transport
      const a = yield* transport.bind({}, () => {})
      const port = Number(a.address.split(":").at(-1))
      const error = yield* Effect.flip(
        Effect.flatMap(Transport.Transport, (t) => t.bind({}, () => {})).pipe(Effect.provide(tcp({ port })))
      )
      assert.strictEqual(error._tag, "TransportError")
      assert.include(error.reason, "EADDRINUSE")
    }).pipe(Effect.provide(tcp()))
  )
})

describe("TCP transport: separate OS processes", () => {
  const fixture = new URL("./fixtures/tcp-node.ts", import.meta.url).pathname

  /** start a child node; it is SIGKILLed when the scope closes, whatever happens */
  const child = Effect.gen(function* () {
    const proc = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [fixture], {
          env: { ...process.env, CLOUD_EFFECT_COOKIE: cookie },
          stdio: ["pipe", "pipe", "inherit"]
        })
      ),
      (proc) => Effect.sync(() => proc.kill("SIGKILL"))
    )
    const line = yield* Effect.callback<string, Error>((resume) => {
      let out = ""
      proc.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8")
        const nl = out.indexOf("\n")
        if (nl >= 0) resume(Effect.succeed(out.slice(0, nl)))
      })
      proc.once("exit", (code) => resume(Effect.fail(new Error(`the child exited with ${code}`))))
    }).pipe(Effect.timeout("20 seconds"))
    const pid = Schema.decodeUnknownSync(ProcessId.ProcessId)(JSON.parse(line))
    return { proc: proc as ChildProcess, pid }
  })

  it.live(
    "a SIGKILLed node's ponger is reported DiedDisconnect within the heartbeat timeout; the other keeps answering",
    () =>
      Effect.gen(function* () {
        const [one, two] = yield* Effect.all([child, child], { concurrency: 2 })
        const node = yield* tcpNode()
        yield* runOn(node)(
          Effect.gen(function* () {
            const me = yield* Process.self
            const ref1 = yield* Process.monitor(one.pid)
            yield* Process.monitor(two.pid)
            for (let i = 0; i < 100; i++) {
              assert.isTrue(ProcessId.equals((yield* roundTrip(one.pid, i)).pid, one.pid))
              assert.isTrue(ProcessId.equals((yield* roundTrip(two.pid, i)).pid, two.pid))
            }
            // mid-conversation: pings in flight to both
            for (let i = 0; i < 50; i++) {
              yield* Process.send(one.pid, new Ping({ from: me, n: 1000 + i }))
              yield* Process.send(two.pid, new Ping({ from: me, n: 1000 + i }))
            }
            const killedAt = Date.now()
            one.proc.kill("SIGKILL")
            const n = yield* Process.expectTimeout(Notification.ProcessMonitorNotification, "3 seconds")
            assert.isTrue(Option.isSome(n), "the monitor fired")
            const notification = Option.getOrThrow(n)
            assert.strictEqual(notification.ref.id, ref1.id)
            assert.strictEqual(notification.reason._tag, "DiedDisconnect")
            assert.isBelow(Date.now() - killedAt, 1500)
            // the other child still answers (after the pongs already on their way)
            yield* Process.send(two.pid, new Ping({ from: me, n: 99_999 }))
            while (true) {
              const pong = yield* Process.expect(Pong)
              if (pong.n === 99_999) {
                assert.isTrue(ProcessId.equals(pong.pid, two.pid))
                break
              }
            }
          })
        )
      })
  )
})

describe("TCP transport: bad peers", () => {
  it.live("random bytes: the connection is closed and logged; the node keeps serving", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { port, stillServes } = yield* victimSetup(logs)
      const peer = yield* rawConnect(port)
      yield* rawWrite(peer, new Uint8Array(randomBytes(64 * 1024)))
      yield* waitClosed(peer)
      yield* waitLog(logs, "closed the connection from 127.0.0.1:")
      yield* stillServes
    })
  )

  it.live("a truncated frame, then close: logged as truncated", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { port, stillServes } = yield* victimSetup(logs)
      const peer = yield* rawConnect(port)
      const header = new Uint8Array(Framing.HEADER_SIZE)
      Framing.writeHeader(header, 0, Handshake.FrameType.Handshake, 100)
      yield* rawWrite(peer, header)
      yield* rawWrite(peer, new Uint8Array(10))
      yield* Effect.sync(() => peer.socket.end())
      yield* waitLog(logs, "closed the connection from 127.0.0.1:", "truncated frame: 10 of 100 bytes")
      yield* stillServes
    })
  )

  it.live("a 4 GiB length prefix, before and after the handshake: closed without allocating", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { port, stillServes } = yield* victimSetup(logs)
      const rss = process.memoryUsage().rss
      const forged = new Uint8Array([0xff, 0xff, 0xff, 0xff, Handshake.FrameType.Data, 1, 2, 3])
      const early = yield* rawConnect(port)
      yield* rawWrite(early, forged)
      yield* waitClosed(early)
      yield* waitLog(logs, "frame of 4294967295 bytes exceeds the limit of 4096 bytes before the handshake")
      const late = yield* rawConnect(port)
      assert.strictEqual((yield* rawHandshake(late, { address: "tcp://127.0.0.1:2" }))._tag, "Accepted")
      yield* rawWrite(late, forged)
      yield* waitClosed(late)
      yield* waitLog(logs, "tcp://127.0.0.1:2", "frame of 4294967295 bytes exceeds the limit of 16777216 bytes")
      assert.isBelow(process.memoryUsage().rss - rss, 200 * 1024 * 1024)
      yield* stillServes
    })
  )

  it.live("a garbage payload after a good handshake: 'not a protocol message', the connection stays", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { port, stillServes } = yield* victimSetup(logs)
      const peer = yield* rawConnect(port)
      assert.strictEqual((yield* rawHandshake(peer, { address: "tcp://127.0.0.1:3" }))._tag, "Accepted")
      yield* rawWrite(peer, Framing.encodeFrame(Handshake.FrameType.Data, new Uint8Array([1, 2, 3, 4, 5, 250, 251])))
      yield* waitLog(logs, "tcp://127.0.0.1:3", "not a protocol message")
      assert.isFalse(peer.closed)
      // heartbeats flow to an accepted peer
      yield* eventually(() => peer.frames.some(([t]) => t === Handshake.FrameType.Heartbeat), "a heartbeat")
      yield* stillServes
    })
  )

  it.live("a wrong cookie: refused and logged on both sides, with the peer named", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { victim, port, stillServes, echo } = yield* victimSetup(logs)
      const peer = yield* rawConnect(port)
      const answer = yield* rawHandshake(peer, { cookie: "not-the-cookie", address: "tcp://127.0.0.1:4" })
      assert.strictEqual(answer._tag, "Refused")
      yield* waitClosed(peer)
      yield* waitLog(logs, "closed the connection from tcp://127.0.0.1:4", "wrong cookie")
      // a node with another cookie: it refuses the victim's proof; its monitor sees the connection lost
      const intruder = yield* tcpNode({ cookie: "another-cookie" }).pipe(Effect.provide(captureLogs(logs)))
      const reason = yield* runOn(intruder)(
        Effect.gen(function* () {
          yield* Process.monitor(echo)
          return (yield* expectNotification).reason._tag
        })
      )
      assert.strictEqual(reason, "DiedDisconnect")
      yield* waitLog(logs, `closed the connection to ${victim.nodeId.address}`, "wrong cookie")
      yield* waitLog(logs, `closed the connection from ${intruder.nodeId.address}`, "refused the handshake")
      yield* stillServes
    })
  )

  it.live("another protocol version is refused and logged", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { port, stillServes } = yield* victimSetup(logs)
      const peer = yield* rawConnect(port)
      const answer = yield* rawHandshake(peer, { version: 99, address: "tcp://127.0.0.1:5" })
      assert.strictEqual(answer._tag, "Refused")
      yield* waitClosed(peer)
      yield* waitLog(logs, "closed the connection from tcp://127.0.0.1:5", "version mismatch")
      yield* stillServes
    })
  )

  it.live("a data frame before the handshake: closed and logged", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { port, stillServes } = yield* victimSetup(logs)
      const peer = yield* rawConnect(port)
      const goodbye = Protocol.encodeFrame(new Protocol.Goodbye({ incarnation: 1 }))
      yield* rawWrite(peer, Framing.encodeFrame(Handshake.FrameType.Data, goodbye))
      yield* waitClosed(peer)
      yield* waitLog(logs, "closed the connection from 127.0.0.1:", "a data frame before the handshake")
      yield* stillServes
    })
  )

  it.live("a second connection announcing the same address replaces the first", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { port, stillServes } = yield* victimSetup(logs)
      const first = yield* rawConnect(port)
      assert.strictEqual((yield* rawHandshake(first, { address: "tcp://127.0.0.1:7" }))._tag, "Accepted")
      const second = yield* rawConnect(port)
      assert.strictEqual((yield* rawHandshake(second, { address: "tcp://127.0.0.1:7" }))._tag, "Accepted")
      yield* waitClosed(first)
      assert.isFalse(second.closed)
      yield* stillServes
    })
  )

  it.live("a peer that goes silent after the handshake is dropped after the heartbeat timeout", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const { port, stillServes } = yield* victimSetup(logs)
      const peer = yield* rawConnect(port)
      assert.strictEqual((yield* rawHandshake(peer, { address: "tcp://127.0.0.1:6" }))._tag, "Accepted")
      const started = Date.now()
      yield* waitClosed(peer, 3000)
      assert.isAtLeast(Date.now() - started, 900)
      yield* waitLog(logs, "closed the connection from tcp://127.0.0.1:6", "heartbeat timeout")
      yield* stillServes
    })
  )
})

describe("framing", () => {
  it("decodes fragmented and batched frames, and rejects an oversize length before buffering", () => {
    const frames = [new Uint8Array([1]), new Uint8Array(0), new Uint8Array(300).fill(7), new Uint8Array([9, 9])]
    const bytes = Buffer.concat(Framing.encodeFrames(frames, (p) => p.length & 0xff))
    for (const step of [1, 2, 3, 5, 7, 64, bytes.length]) {
      const decoder = new Framing.FrameDecoder(1000)
      const out: Array<[number, Array<number>]> = []
      for (let i = 0; i < bytes.length; i += step) {
        assert.isUndefined(decoder.push(bytes.subarray(i, i + step), (t, p) => out.push([t, [...p]])))
      }
      assert.isUndefined(decoder.end())
      assert.deepStrictEqual(
        out,
        frames.map((f) => [f.length & 0xff, [...f]])
      )
    }
    const small = new Framing.FrameDecoder(10)
    const error = small.push(Framing.encodeFrame(0, new Uint8Array(11)).subarray(0, 5), () => assert.fail())
    assert.deepStrictEqual(error, { _tag: "FrameTooLarge", length: 11, limit: 10 })
    assert.strictEqual(small.buffered, 0)
  })
})
