/**
 * The `remote` suite: two nodes, a process on each, each measurement side by side with a raw
 * baseline between the same two threads or OS processes, in the same run.
 *
 * 1. worker threads: the master node in the main thread, a slave node in a worker thread
 *    (`Backend.workerThreads(1, …)`), against `worker_threads` `postMessage` between the main thread
 *    and a plain worker (`fixtures/remote-raw-worker.ts`);
 * 2. TCP: the master node in this process, a slave node in a child OS process on 127.0.0.1
 *    (`Backend.tcpMaster` / `Backend.tcpSlave`, `fixtures/remote-tcp-child.ts`), against plain
 *    `node:net` sockets with 4-byte length-prefixed frames to a raw server in the same child
 *    (`fixtures/remote-raw-framing.ts`). The raw sender writes each small frame with its own
 *    `socket.write`, as a plain `net` program does (the target: half of that, which a
 *    protocol reaches by batching frames under load); a third row packs the raw frames by hand into
 *    64 KiB writes, the wire's own limit, for reference.
 *
 * Measured on each: round-trip latency (ping-pong, every round trip timed on its own) and one-way
 * throughput of small messages (a `Schema.TaggedClass` with an Int) and of 64 KiB messages (a class
 * with a `Uint8Array` field): the sender sends N messages, the receiver counts them and answers
 * once at the end (`Done`, with a checksum); the clock stops when the answer arrives. The library
 * side spawns its echo / sink with `Remote.spawn` before the clock starts. Messages are allocated
 * before the clock starts; the raw baseline's 64 KiB buffers too (they are transferred, so fresh
 * ones every run), and its frames are encoded while the clock runs, as the library's are.
 *
 * Profiling: `node --cpu-prof bench/main.ts remote` profiles this process (and the worker threads,
 * which inherit `execArgv`); `REMOTE_BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=prof"` passes node
 * flags to the TCP child. The contenders are exported for ad-hoc scripts that run one case alone.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { type Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { Backend, type Node, type NodeId, Process, Remote } from "../src/index.ts"
import { BIG, DONE, END, frameU32, PING, PONG, PREFIX, RawDecoder, SMALL } from "./fixtures/remote-raw-framing.ts"
import type { FromRawWorker, ToRawWorker } from "./fixtures/remote-raw-worker.ts"
import { Big, Done, echo, Ping, Pong, remoteTable, Small, sinkBig, sinkSmall } from "./fixtures/remote-table.ts"
import {
  compare,
  fmt,
  fmtRatio,
  int,
  mean,
  median,
  percentile,
  type Result,
  result,
  type Suite,
  table
} from "./harness.ts"

// -----------------------------------------------------------------------------------------------
// sizes

const ROUND_TRIPS = 5_000
/**
 * The library's path (fibers, schema codecs, the frame caches) settles after about 15,000-20,000
 * round trips (measured: 146, 92, 77, 73, 72 µs median in successive runs of 5,000 on TCP), the
 * raw one at once: both get four warm-up runs, so the medians compare steady states.
 */
const LATENCY_REPS = { warmup: 4, reps: 5 }
const SMALL_N = 50_000
const SMALL_REPS = { warmup: 2, reps: 7 }
const BIG_SIZE = 64 * 1024
const BIG_N = 500
const BIG_REPS = { warmup: 2, reps: 7 }

/** targets from the issue */
const THROUGHPUT_TARGET = 0.5
const LATENCY_TARGET = 2

const checkDone = (what: string, got: { readonly count: number; readonly sum: number }, n: number, sum: number) => {
  if (got.count !== n || got.sum !== sum) {
    throw new Error(`${what}: the receiver reported ${got.count} messages (sum ${got.sum}), expected ${n} (sum ${sum})`)
  }
}

const smallSum = (n: number) => (n * (n - 1)) / 2

/** the two sides of one comparison */
export interface Contender {
  /** µs of every round trip */
  readonly pingPong: (n: number) => Promise<Float64Array>
  /** ms to send n small messages and hear that all arrived */
  readonly small: (n: number) => Promise<number>
  /**
   * (raw TCP only) `small` with the frames packed by hand into 64 KiB buffers, one write each: the
   * wire's own limit, which no per-message protocol approaches; shown for reference, no target
   */
  readonly smallPacked?: ((n: number) => Promise<number>) | undefined
  /** ms to send n 64 KiB messages and hear that all arrived */
  readonly big: (n: number) => Promise<number>
}

// -----------------------------------------------------------------------------------------------
// cloud-effect: a process on the master node talks to a process on the (one) slave

const bigData = new Uint8Array(BIG_SIZE).map((_, i) => i % 251)
const pings = Array.from({ length: ROUND_TRIPS }, (_, i) => new Ping({ seq: i }))
const smalls = Array.from({ length: SMALL_N }, (_, i) => new Small({ seq: i }))
/** the library encodes (copies) a message's bytes: one buffer can back every message */
const bigs = Array.from({ length: BIG_N }, (_, i) => new Big({ seq: i, data: bigData }))

type Master = Context.Context<Backend.Backend | Node.Node>

export const library = (master: Master): Contender => {
  const onMaster = <A, E>(program: (slave: NodeId.NodeId) => Effect.Effect<A, E, Process.Process>) =>
    Effect.runPromise(
      Backend.startMaster((slaves) => program(slaves[0]!)).pipe(Effect.provideContext(master))
    ) as Promise<A>
  return {
    pingPong: (n) =>
      onMaster((slave) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          const pid = yield* Remote.spawn(slave, echo({ reportTo: me, count: n }))
          const samples = new Float64Array(n)
          for (let i = 0; i < n; i++) {
            const t = performance.now()
            yield* Process.send(pid, pings[i]!)
            const pong = yield* Process.expect(Pong)
            samples[i] = (performance.now() - t) * 1000
            if (pong.seq !== i) throw new Error(`cloud-effect ping-pong: pong ${pong.seq} for ping ${i}`)
          }
          return samples
        })
      ),
    small: (n) =>
      onMaster((slave) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          const pid = yield* Remote.spawn(slave, sinkSmall({ reportTo: me, count: n }))
          const start = performance.now()
          for (let i = 0; i < n; i++) yield* Process.send(pid, smalls[i]!)
          const done = yield* Process.expect(Done)
          const elapsed = performance.now() - start
          checkDone("cloud-effect small", done, n, smallSum(n))
          return elapsed
        })
      ),
    big: (n) =>
      onMaster((slave) =>
        Effect.gen(function* () {
          const me = yield* Process.self
          const pid = yield* Remote.spawn(slave, sinkBig({ reportTo: me, count: n }))
          const start = performance.now()
          for (let i = 0; i < n; i++) yield* Process.send(pid, bigs[i]!)
          const done = yield* Process.expect(Done)
          const elapsed = performance.now() - start
          checkDone("cloud-effect 64 KiB", done, n, n * BIG_SIZE)
          return elapsed
        })
      )
  }
}

/** build a layer in a scope of its own; the returned `close` ends it */
export const buildLayer = async <A, E>(layer: Layer.Layer<A, E>) => {
  const scope = Effect.runSync(Scope.make())
  try {
    const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
    return { context, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
  } catch (error) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  }
}

// -----------------------------------------------------------------------------------------------
// raw worker_threads

const rawSmalls: ReadonlyArray<ToRawWorker> = Array.from({ length: SMALL_N }, (_, i) => ({ _tag: "Small", seq: i }))

export const rawWorker = async (): Promise<{
  readonly contender: Contender
  readonly close: () => Promise<number>
}> => {
  const worker = new Worker(new URL("./fixtures/remote-raw-worker.ts", import.meta.url))
  let waiting: ((m: FromRawWorker) => void) | undefined
  let failed: unknown
  worker.on("message", (m: FromRawWorker) => {
    const w = waiting
    waiting = undefined
    w?.(m)
  })
  worker.on("error", (error) => {
    failed = error
  })
  await new Promise<void>((resolve, reject) => {
    worker.once("online", resolve)
    worker.once("error", reject)
  })
  const next = () =>
    new Promise<FromRawWorker>((resolve, reject) => {
      if (failed !== undefined) reject(failed)
      waiting = resolve
    })
  const post = (m: ToRawWorker, transfer?: ReadonlyArray<ArrayBuffer>) =>
    transfer === undefined ? worker.postMessage(m) : worker.postMessage(m, transfer)
  const end = async (what: string, n: number, sum: number) => {
    const done = next()
    post({ _tag: "End" })
    const m = await done
    if (m._tag !== "Done") throw new Error(`${what}: got ${m._tag}`)
    checkDone(what, m, n, sum)
  }
  const contender: Contender = {
    pingPong: async (n) => {
      const samples = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const t = performance.now()
        const pong = next()
        post({ _tag: "Ping", seq: i })
        const m = await pong
        samples[i] = (performance.now() - t) * 1000
        if (m._tag !== "Pong" || m.seq !== i) throw new Error(`raw worker ping-pong: ${m._tag} for ping ${i}`)
      }
      return samples
    },
    small: async (n) => {
      const start = performance.now()
      for (let i = 0; i < n; i++) post(rawSmalls[i]!)
      await end("raw worker small", n, smallSum(n))
      return performance.now() - start
    },
    big: async (n) => {
      // transferred buffers are detached: fresh ones every run, made before the clock starts
      const buffers = Array.from({ length: n }, () => bigData.slice())
      const start = performance.now()
      for (let i = 0; i < n; i++) post({ _tag: "Big", seq: i, data: buffers[i]! }, [buffers[i]!.buffer])
      await end("raw worker 64 KiB", n, n * BIG_SIZE)
      return performance.now() - start
    }
  }
  return { contender, close: () => worker.terminate() }
}

// -----------------------------------------------------------------------------------------------
// raw TCP: node:net, 4-byte length-prefixed frames

/** the raw sender batches small frames into chunks of this size */
const RAW_CHUNK = 64 * 1024
/** and corks this many 64 KiB frames together */
const RAW_BIG_BATCH = 16

export const rawTcp = async (port: number): Promise<{ readonly contender: Contender; readonly close: () => void }> => {
  const socket = await new Promise<Net.Socket>((resolve, reject) => {
    const s = Net.connect({ host: "127.0.0.1", port, noDelay: true })
    s.once("connect", () => resolve(s))
    s.once("error", reject)
  })
  socket.setNoDelay(true)
  const decoder = new RawDecoder()
  let waiting: ((payload: Buffer) => void) | undefined
  let failed: unknown
  socket.on("data", (chunk: Buffer) =>
    decoder.push(chunk, (payload) => {
      const w = waiting
      waiting = undefined
      w?.(payload)
    })
  )
  socket.on("error", (error) => {
    failed = error
  })
  const next = () =>
    new Promise<Buffer>((resolve, reject) => {
      if (failed !== undefined) reject(failed)
      waiting = resolve
    })
  const drain = () => new Promise<void>((resolve) => socket.once("drain", resolve))
  const end = async (what: string, n: number, sum: number) => {
    const done = next()
    const frame = Buffer.allocUnsafe(PREFIX + 1)
    frame.writeUInt32BE(1, 0)
    frame[PREFIX] = END
    socket.write(frame)
    const payload = await done
    if (payload[0] !== DONE) throw new Error(`${what}: got a frame of type ${payload[0]}`)
    checkDone(what, { count: payload.readUInt32BE(1), sum: payload.readDoubleBE(5) }, n, sum)
  }
  const frames = Array.from({ length: ROUND_TRIPS }, (_, i) => frameU32(PING, i))
  const contender: Contender = {
    pingPong: async (n) => {
      const samples = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const t = performance.now()
        const pong = next()
        socket.write(frames[i]!)
        const payload = await pong
        samples[i] = (performance.now() - t) * 1000
        if (payload[0] !== PONG || payload.readUInt32BE(1) !== i) throw new Error(`raw tcp ping-pong: bad pong ${i}`)
      }
      return samples
    },
    small: async (n) => {
      const start = performance.now()
      // what a plain node:net program does: one write per frame (Node queues the writes the
      // kernel does not take at once and hands them over together), waiting for drain when asked to
      for (let i = 0; i < n; i++) {
        if (!socket.write(frameU32(SMALL, i))) await drain()
      }
      await end("raw tcp small", n, smallSum(n))
      return performance.now() - start
    },
    smallPacked: async (n) => {
      const start = performance.now()
      // frames written into 64 KiB chunks, one write per chunk, waiting for drain when asked to
      let chunk = Buffer.allocUnsafe(RAW_CHUNK)
      let offset = 0
      for (let i = 0; i < n; i++) {
        if (offset + PREFIX + 5 > RAW_CHUNK) {
          const full = socket.write(chunk.subarray(0, offset))
          chunk = Buffer.allocUnsafe(RAW_CHUNK)
          offset = 0
          if (!full) await drain()
        }
        chunk.writeUInt32BE(5, offset)
        chunk[offset + PREFIX] = SMALL
        chunk.writeUInt32BE(i, offset + PREFIX + 1)
        offset += PREFIX + 5
      }
      if (offset > 0) socket.write(chunk.subarray(0, offset))
      await end("raw tcp small, packed", n, smallSum(n))
      return performance.now() - start
    },
    big: async (n) => {
      const start = performance.now()
      // a header and the payload per frame (no copy), corked in batches, waiting for drain when asked to
      for (let i = 0; i < n; ) {
        socket.cork()
        let ok = true
        for (let k = 0; k < RAW_BIG_BATCH && i < n; k++, i++) {
          const header = Buffer.allocUnsafe(PREFIX + 5)
          header.writeUInt32BE(5 + BIG_SIZE, 0)
          header[PREFIX] = BIG
          header.writeUInt32BE(i, PREFIX + 1)
          socket.write(header)
          ok = socket.write(bigData)
        }
        socket.uncork()
        if (!ok) await drain()
      }
      await end("raw tcp 64 KiB", n, n * BIG_SIZE)
      return performance.now() - start
    }
  }
  return { contender, close: () => socket.destroy() }
}

/** the child OS process: a cloud-effect TCP slave and the raw server */
interface Child {
  readonly proc: ChildProcess
  readonly node: string
  readonly raw: number
}

export const startChild = (cookie: string, execArgv: ReadonlyArray<string> = []): Promise<Child> =>
  new Promise((resolve, reject) => {
    const fixture = fileURLToPath(new URL("./fixtures/remote-tcp-child.ts", import.meta.url))
    const extra = process.env.REMOTE_BENCH_CHILD_ARGS?.split(" ").filter((a) => a !== "") ?? []
    const proc = spawn(process.execPath, [...extra, ...execArgv, fixture], {
      env: { ...process.env, CLOUD_EFFECT_COOKIE: cookie },
      stdio: ["pipe", "pipe", "inherit"]
    })
    let out = ""
    const timer = setTimeout(() => {
      proc.kill("SIGKILL")
      reject(new Error("the TCP child did not start within 20 seconds"))
    }, 20_000)
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      const nl = out.indexOf("\n")
      if (nl < 0) return
      clearTimeout(timer)
      const line = JSON.parse(out.slice(0, nl)) as { readonly node: string; readonly raw: number }
      resolve({ proc, node: line.node, raw: line.raw })
    })
    proc.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the TCP child exited (${code ?? signal}) before it was ready`))
    })
  })

/** ask the child to end (its finalizers run), and kill it if it has not within 3 seconds */
export const stopChild = (proc: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    const timer = setTimeout(() => proc.kill("SIGKILL"), 3_000)
    proc.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    proc.kill("SIGTERM")
  })

// -----------------------------------------------------------------------------------------------
// measuring and printing

const target = (met: boolean) => (met ? "met" : "MISSED")

const latency = async (section: string, ce: Contender, raw: Contender, rawLabel: string): Promise<Array<Result>> => {
  const n = ROUND_TRIPS
  const { a, b } = await compare(
    () => ce.pingPong(n),
    () => raw.pingPong(n),
    LATENCY_REPS
  )
  const all = (runs: ReadonlyArray<Float64Array>) => runs.flatMap((r) => Array.from(r))
  const stats = (xs: ReadonlyArray<number>) => ({ mean: mean(xs), p50: median(xs), p99: percentile(xs, 99) })
  const c = stats(all(a))
  const r = stats(all(b))
  const ratio = c.p50 / r.p50
  table(
    `${section}a. round-trip latency: ${int(n)} ping-pongs x ${LATENCY_REPS.reps} runs (${LATENCY_REPS.warmup} warm-up), each timed; µs, lower is better`,
    ["", "mean µs", "median µs", "p99 µs", `target median <= ${LATENCY_TARGET.toFixed(2)}x`],
    [
      ["cloud-effect send/expect", fmt(c.mean), fmt(c.p50), fmt(c.p99), ""],
      [rawLabel, fmt(r.mean), fmt(r.p50), fmt(r.p99), ""],
      [
        "ratio cloud-effect / raw",
        fmtRatio(c.mean / r.mean),
        fmtRatio(ratio),
        fmtRatio(c.p99 / r.p99),
        target(ratio <= LATENCY_TARGET)
      ]
    ]
  )
  const key = section === "1" ? "worker" : "tcp"
  return [
    result(`${key}: round-trip latency mean`, c.mean, "µs", r.mean),
    result(`${key}: round-trip latency median`, c.p50, "µs", r.p50),
    result(`${key}: round-trip latency p99`, c.p99, "µs", r.p99)
  ]
}

const throughput = async (section: string, ce: Contender, raw: Contender, rawLabel: string): Promise<Array<Result>> => {
  const rows: Array<Array<string>> = []
  const results: Array<Result> = []
  const key = section === "1" ? "worker" : "tcp"
  const cases = [
    { what: "small", label: "Small { seq: Int }", n: SMALL_N, bytes: 0, reps: SMALL_REPS, hasTarget: true },
    { what: "64 KiB", label: "Big { seq, data: 64 KiB }", n: BIG_N, bytes: BIG_SIZE, reps: BIG_REPS, hasTarget: false }
  ] as const
  for (const c of cases) {
    const run = c.what === "small" ? (x: Contender) => () => x.small(c.n) : (x: Contender) => () => x.big(c.n)
    const packed = c.what === "small" ? raw.smallPacked : undefined
    // with a packed reference, the three take turns, as the two do in `compare`
    const packedRuns: Array<number> = []
    const { a, b } =
      packed === undefined
        ? await compare(run(ce), run(raw), c.reps)
        : await compare(
            run(ce),
            async () => {
              const ms = await run(raw)()
              packedRuns.push(await packed(c.n))
              return ms
            },
            c.reps
          )
    packedRuns.splice(0, packedRuns.length - c.reps.reps) // the warm-up runs
    const ceRate = c.n / (median(a) / 1000)
    const rawRate = c.n / (median(b) / 1000)
    const ratio = ceRate / rawRate
    const mib = (rate: number) => (c.bytes === 0 ? "" : fmt((rate * c.bytes) / (1024 * 1024)))
    const row = (label: string, rate: number, runs: ReadonlyArray<number>) => [
      `${c.label}: ${label}`,
      fmt(rate),
      mib(rate),
      fmt(median(runs)),
      fmt(Math.min(...runs)),
      fmt(Math.max(...runs)),
      ""
    ]
    rows.push(row("cloud-effect", ceRate, a), row(rawLabel, rawRate, b), [
      `${c.label}: ratio ce / raw`,
      fmtRatio(ratio),
      "",
      "",
      "",
      "",
      c.hasTarget ? target(ratio >= THROUGHPUT_TARGET) : "(none)"
    ])
    results.push(result(`${key}: one-way throughput (${c.what}, ${int(c.n)} messages)`, ceRate, "msg/s", rawRate))
    if (packedRuns.length > 0) {
      const packedRate = c.n / (median(packedRuns) / 1000)
      rows.push(row(`${rawLabel}, packed by hand into 64 KiB writes`, packedRate, packedRuns), [
        `${c.label}: ratio ce / packed`,
        fmtRatio(ceRate / packedRate),
        "",
        "",
        "",
        "",
        "(reference)"
      ])
      results.push(
        result(`${key}: one-way throughput (${c.what}) vs frames packed by hand`, ceRate, "msg/s", packedRate)
      )
    }
  }
  table(
    `${section}b. one-way throughput: ${int(SMALL_N)} small / ${int(BIG_N)} x 64 KiB messages, then one Done (median of ${SMALL_REPS.reps} runs, ${SMALL_REPS.warmup} warm-up); higher is better`,
    ["", "msg/s", "MiB/s", "ms per run", "min ms", "max ms", `target >= ${THROUGHPUT_TARGET.toFixed(2)}x`],
    rows
  )
  return results
}

// -----------------------------------------------------------------------------------------------
// the two halves

const workerThreads = async (): Promise<Array<Result>> => {
  const module = new URL("./fixtures/remote-table.ts", import.meta.url)
  const backend = await buildLayer(Backend.workerThreads(1, { module }))
  try {
    const raw = await rawWorker()
    try {
      const ce = library(backend.context)
      console.log("\n1. worker threads: master node in the main thread, slave node in a worker thread")
      const label = "raw postMessage"
      return [...(await latency("1", ce, raw.contender, label)), ...(await throughput("1", ce, raw.contender, label))]
    } finally {
      await raw.close()
    }
  } finally {
    await backend.close()
  }
}

const tcp = async (): Promise<Array<Result>> => {
  const cookie = randomBytes(16).toString("hex")
  const child = await startChild(cookie)
  try {
    const master = await buildLayer(
      Backend.tcpMaster({
        host: "127.0.0.1",
        port: 0,
        cookie: Redacted.make(cookie),
        table: remoteTable,
        slaves: [child.node]
      })
    )
    try {
      const raw = await rawTcp(child.raw)
      try {
        const ce = library(master.context)
        console.log(
          `\n2. TCP on 127.0.0.1: master node in this process (pid ${process.pid}), slave node in a child process (pid ${child.proc.pid})`
        )
        const label = "raw node:net frames"
        return [...(await latency("2", ce, raw.contender, label)), ...(await throughput("2", ce, raw.contender, label))]
      } finally {
        raw.close()
      }
    } finally {
      await master.close()
    }
  } finally {
    await stopChild(child.proc)
  }
}

export const suite: Suite = {
  name: "remote",
  description: "two nodes (worker threads; TCP between OS processes) vs raw postMessage and raw node:net sockets",
  run: async () => [...(await workerThreads()), ...(await tcp())]
}
