/**
 * The `local` suite: processes on one node, each measurement side by side with a raw Effect
 * reference in the same run.
 *
 * 1. one-way throughput: process A sends N messages to process B, which `expect`s each one, against
 *    one fiber offering N values to a `Queue.unbounded` and another taking them; once with B starting
 *    on a backlog, once with B already blocked in `expect` when A starts (the state of a server);
 * 2. round-trip latency: ping-pong between two processes with `send`/`expect`, against ping-pong
 *    between two fibers through two Queues; every round trip is timed on its own;
 * 3. selective receive: U unrelated messages queued ahead of W wanted ones, then W `expect(Wanted)`;
 *    the time per wanted message should stay flat as U = W grows (O(U + W) in all), where a naive
 *    mailbox (an array scanned from the head, `findIndex` + `splice`) grows linearly per message.
 *
 * Messages are allocated before the clock starts, so both sides time the messaging alone.
 */
import { Effect, Fiber, Queue, Schema } from "effect"
import { Node, Process } from "../src/index.ts"
import {
  compare,
  fmt,
  fmtRatio,
  int,
  mean,
  median,
  percentile,
  type Result,
  repeat,
  result,
  type Suite,
  table
} from "./harness.ts"

class Msg extends Schema.TaggedClass<Msg>()("Msg", { seq: Schema.Number }) {}
class Done extends Schema.TaggedClass<Done>()("Done", { sum: Schema.Number }) {}
class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", {}) {}
class Noise extends Schema.TaggedClass<Noise>()("Noise", { seq: Schema.Number }) {}
class Wanted extends Schema.TaggedClass<Wanted>()("Wanted", { seq: Schema.Number }) {}

/** run a program as a process on a fresh node; the node is closed afterwards */
const runOnNode = <A, E>(program: Effect.Effect<A, E, Process.Process>): Promise<A> =>
  Effect.runPromise(Node.runProcess(program).pipe(Effect.provide(Node.layer())))

const checkSum = (what: string, got: number, want: number): void => {
  if (got !== want) throw new Error(`${what}: checksum ${got}, expected ${want}`)
}

// -----------------------------------------------------------------------------------------------
// 1. one-way throughput

const THROUGHPUT_N = 200_000
const THROUGHPUT_REPS = { warmup: 2, reps: 7 }

/**
 * Two starts: with `backlog` A sends at once after spawning B, so B starts on a full mailbox; with
 * `waiting` B is first given time to block in `expect` on its empty mailbox (a server waiting for
 * requests), and the clock starts after that pause.
 */
type Start = "backlog" | "waiting"
const PAUSE = "2 millis"

/** elapsed ms for A to send every message and learn that B has received them all */
const processOneWay = (messages: ReadonlyArray<Msg>, sum: number, mode: Start): Promise<number> =>
  runOnNode(
    Effect.gen(function* () {
      const me = yield* Process.self
      const n = messages.length
      let start = performance.now()
      const receiver = yield* Process.spawnLocal(
        Effect.gen(function* () {
          let total = 0
          for (let i = 0; i < n; i++) total += (yield* Process.expect(Msg)).seq
          yield* Process.send(me, new Done({ sum: total }))
        })
      )
      if (mode === "waiting") {
        yield* Effect.sleep(PAUSE)
        start = performance.now()
      }
      for (let i = 0; i < n; i++) yield* Process.send(receiver, messages[i]!)
      const done = yield* Process.expect(Done)
      const elapsed = performance.now() - start
      checkSum("process one-way", done.sum, sum)
      return elapsed
    })
  )

const queueOneWay = (messages: ReadonlyArray<Msg>, sum: number, mode: Start): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const n = messages.length
      let start = performance.now()
      const queue = yield* Queue.unbounded<Msg>()
      const receiver = yield* Effect.forkChild(
        Effect.gen(function* () {
          let total = 0
          for (let i = 0; i < n; i++) total += (yield* Queue.take(queue)).seq
          return total
        })
      )
      if (mode === "waiting") {
        yield* Effect.sleep(PAUSE)
        start = performance.now()
      }
      for (let i = 0; i < n; i++) yield* Queue.offer(queue, messages[i]!)
      const total = yield* Fiber.join(receiver)
      const elapsed = performance.now() - start
      checkSum("queue one-way", total, sum)
      return elapsed
    })
  )

const throughput = async (): Promise<Array<Result>> => {
  const n = THROUGHPUT_N
  const messages = Array.from({ length: n }, (_, i) => new Msg({ seq: i }))
  const sum = (n * (n - 1)) / 2
  const rows: Array<Array<string>> = []
  const results: Array<Result> = []
  const modes: ReadonlyArray<readonly [Start, string]> = [
    ["backlog", "B starts on a backlog"],
    ["waiting", "B already waiting in expect"]
  ]
  for (const [mode, label] of modes) {
    const { a, b } = await compare(
      () => processOneWay(messages, sum, mode),
      () => queueOneWay(messages, sum, mode),
      THROUGHPUT_REPS
    )
    const ce = n / (median(a) / 1000)
    const raw = n / (median(b) / 1000)
    const ratio = ce / raw
    rows.push(
      [`${label}: cloud-effect send/expect`, fmt(ce), fmt(median(a)), fmt(Math.min(...a)), fmt(Math.max(...a)), ""],
      [`${label}: raw Effect Queue`, fmt(raw), fmt(median(b)), fmt(Math.min(...b)), fmt(Math.max(...b)), ""],
      [`${label}: ratio ce / raw`, fmtRatio(ratio), "", "", "", ratio >= 0.5 ? "met" : "MISSED"]
    )
    results.push(result(`one-way throughput (${mode})`, ce, "msg/s", raw))
  }
  table(
    `1. one-way throughput: ${int(n)} messages A -> B (median of ${THROUGHPUT_REPS.reps} runs, ${THROUGHPUT_REPS.warmup} warm-up); higher is better`,
    ["", "msg/s", "ms per run", "min ms", "max ms", "target >= 0.50x"],
    rows
  )
  return results
}

// -----------------------------------------------------------------------------------------------
// 2. round-trip latency

const ROUND_TRIPS = 20_000
const LATENCY_REPS = { warmup: 2, reps: 5 }

/** µs of every round trip */
const processPingPong = (n: number): Promise<Float64Array> =>
  runOnNode(
    Effect.gen(function* () {
      const me = yield* Process.self
      const ping = new Ping()
      const pong = new Pong()
      const echo = yield* Process.spawnLocal(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) {
            yield* Process.expect(Ping)
            yield* Process.send(me, pong)
          }
        })
      )
      const samples = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const t = performance.now()
        yield* Process.send(echo, ping)
        yield* Process.expect(Pong)
        samples[i] = (performance.now() - t) * 1000
      }
      return samples
    })
  )

const queuePingPong = (n: number): Promise<Float64Array> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const ping = new Ping()
      const pong = new Pong()
      const there = yield* Queue.unbounded<Ping>()
      const back = yield* Queue.unbounded<Pong>()
      const echo = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) {
            yield* Queue.take(there)
            yield* Queue.offer(back, pong)
          }
        })
      )
      const samples = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const t = performance.now()
        yield* Queue.offer(there, ping)
        yield* Queue.take(back)
        samples[i] = (performance.now() - t) * 1000
      }
      yield* Fiber.join(echo)
      return samples
    })
  )

const latency = async (): Promise<Array<Result>> => {
  const n = ROUND_TRIPS
  const { a, b } = await compare(
    () => processPingPong(n),
    () => queuePingPong(n),
    LATENCY_REPS
  )
  const all = (runs: ReadonlyArray<Float64Array>) => runs.flatMap((r) => Array.from(r))
  const ce = all(a)
  const raw = all(b)
  const stats = (xs: ReadonlyArray<number>) => ({ mean: mean(xs), p50: median(xs), p99: percentile(xs, 99) })
  const c = stats(ce)
  const r = stats(raw)
  table(
    `2. round-trip latency: ${int(n)} ping-pongs x ${LATENCY_REPS.reps} runs (${LATENCY_REPS.warmup} warm-up), each timed; µs, lower is better`,
    ["", "mean µs", "median µs", "p99 µs"],
    [
      ["cloud-effect send/expect", fmt(c.mean), fmt(c.p50), fmt(c.p99)],
      ["raw Effect Queues", fmt(r.mean), fmt(r.p50), fmt(r.p99)],
      ["ratio cloud-effect / raw", fmtRatio(c.mean / r.mean), fmtRatio(c.p50 / r.p50), fmtRatio(c.p99 / r.p99)]
    ]
  )
  return [
    result("round-trip latency mean", c.mean, "µs", r.mean),
    result("round-trip latency median", c.p50, "µs", r.p50),
    result("round-trip latency p99", c.p99, "µs", r.p99)
  ]
}

// -----------------------------------------------------------------------------------------------
// 3. selective receive scaling

const SIZES = [1_000, 10_000, 100_000]
/** more runs for the small sizes, whose runs last well under a millisecond */
const selectiveReps = (u: number, w: number) =>
  u + w <= 2_000 ? { warmup: 5, reps: 21 } : u + w <= 20_000 ? { warmup: 2, reps: 11 } : { warmup: 1, reps: 5 }
const NAIVE_REPS = { warmup: 1, reps: 3 }
/** above this many U x W, the naive reference times only its first NAIVE_SAMPLE receives and extrapolates */
const NAIVE_FULL = 100_000_000
const NAIVE_SAMPLE = 2_000

/** ms to receive the W wanted messages queued behind U noise messages */
const processSelective = (u: number, w: number): Promise<number> =>
  runOnNode(
    Effect.gen(function* () {
      const me = yield* Process.self
      for (let i = 0; i < u; i++) yield* Process.send(me, new Noise({ seq: i }))
      for (let i = 0; i < w; i++) yield* Process.send(me, new Wanted({ seq: i }))
      const start = performance.now()
      for (let i = 0; i < w; i++) {
        const got = yield* Process.expect(Wanted)
        if (got.seq !== i) throw new Error(`selective receive: got Wanted ${got.seq}, expected ${i}`)
      }
      return performance.now() - start
    })
  )

interface Naive {
  readonly ms: number
  readonly received: number
}

/** a plain array as a mailbox: each receive scans from the head for the first Wanted and splices it out */
const naiveSelective = (u: number, w: number): Naive => {
  const mailbox: Array<Noise | Wanted> = []
  for (let i = 0; i < u; i++) mailbox.push(new Noise({ seq: i }))
  for (let i = 0; i < w; i++) mailbox.push(new Wanted({ seq: i }))
  const count = u * w <= NAIVE_FULL ? w : Math.min(w, NAIVE_SAMPLE)
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    const at = mailbox.findIndex((m) => m._tag === "Wanted")
    const [got] = mailbox.splice(at, 1)
    if ((got as Wanted).seq !== i) throw new Error("naive selective receive: out of order")
  }
  return { ms: performance.now() - start, received: count }
}

const selective = async (): Promise<Array<Result>> => {
  const rows: Array<Array<string>> = []
  const results: Array<Result> = []
  const cases = [{ u: 0, w: 10_000 }, ...SIZES.map((n) => ({ u: n, w: n }))]
  let previous: { readonly w: number; readonly total: number } | undefined
  for (const { u, w } of cases) {
    const ce = median(await repeat(() => processSelective(u, w), selectiveReps(u, w)))
    const naiveRuns = await repeat(async () => naiveSelective(u, w), NAIVE_REPS)
    const naivePer = median(naiveRuns.map((r) => (r.ms * 1000) / r.received))
    const sampled = naiveRuns[0]!.received < w
    const cePer = (ce * 1000) / w
    // total-time growth against the previous size: ~10x per 10x is linear, ~100x would be quadratic
    const growth = previous !== undefined && u > 0 ? fmtRatio(ce / previous.total) : ""
    if (u > 0) previous = { w, total: ce }
    rows.push([
      `U = ${int(u)}, W = ${int(w)}`,
      fmt(ce),
      fmt(cePer),
      growth,
      fmt((naivePer * w) / 1000) + (sampled ? "*" : ""),
      fmt(naivePer) + (sampled ? "*" : ""),
      fmtRatio(cePer / naivePer)
    ])
    const label = `selective receive U=${u} W=${w}`
    results.push(result(`${label}: per wanted message`, cePer, "µs", naivePer))
    results.push(result(`${label}: total`, ce, "ms", (naivePer * w) / 1000))
  }
  table(
    `3. selective receive: W x expect(Wanted) with U Noise messages queued ahead (median of 5 to 21 runs by size; naive: ${NAIVE_REPS.reps})`,
    [
      "mailbox",
      "cloud-effect ms",
      "µs / wanted",
      "growth (10x size)",
      "naive rescan ms",
      "naive µs / wanted",
      "ratio ce / naive"
    ],
    rows
  )
  console.log(
    `* naive timed on its first ${int(NAIVE_SAMPLE)} receives and extrapolated to W (each receive scans all U Noise messages)`
  )
  return results
}

export const suite: Suite = {
  name: "local",
  description: "processes on one node vs raw Effect Queues and fibers",
  run: async () => [...(await throughput()), ...(await latency()), ...(await selective())]
}
