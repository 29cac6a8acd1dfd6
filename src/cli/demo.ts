/**
 * `cloud-effect demo`: the blog's job (sum of numPrimeFactors over 1..n) with each pattern on
 * local worker-thread slave nodes, with a progress bar, then a table: pattern, result (checked
 * against a sequential run), time, speed-up over sequential, master peak memory.
 */
import { Console, Effect, Schema } from "effect"
import * as Backend from "../Backend.ts"
import { siblingModule } from "../internal/sibling.ts"
import * as MasterSlave from "../patterns/MasterSlave.ts"
import * as PrimeFactors from "../patterns/PrimeFactors.ts"
import * as WorkPushing from "../patterns/WorkPushing.ts"
import * as WorkStealing from "../patterns/WorkStealing.ts"

export const patterns = ["master-slave", "work-pushing", "work-stealing"] as const
export type Pattern = (typeof patterns)[number]

export interface DemoOptions {
  readonly n: number
  readonly patterns: ReadonlyArray<Pattern>
  readonly workers: number
  readonly window: number
  readonly prefetch: boolean
  readonly variant: "primes" | "naive"
  readonly chunk: number
  readonly json: boolean
}

export interface Row {
  readonly pattern: string
  readonly result: number
  readonly ok: boolean
  readonly millis: number
  readonly speedup: number
  readonly peakHeapMiB: number
}

/** a progress bar on stderr (only on a terminal) */
const progressBar = (label: string, total: number) => {
  const tty = process.stderr.isTTY === true
  let last = -1
  return {
    update: (done: number) =>
      Effect.sync(() => {
        if (!tty) return
        const pct = Math.floor((100 * done) / Math.max(total, 1))
        if (pct === last) return
        last = pct
        const width = 30
        const filled = Math.round((width * pct) / 100)
        process.stderr.write(`\r${label.padEnd(14)} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${pct}%`)
      }),
    done: Effect.sync(() => {
      if (tty) process.stderr.write("\r\u001b[2K")
    })
  }
}

/** sample the heap while an effect runs; its peak in MiB */
const withPeakHeap = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    let peak = process.memoryUsage().heapUsed
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().heapUsed)
    }, 20)
    return effect.pipe(
      Effect.map((a) => [a, peak / (1024 * 1024)] as const),
      Effect.ensuring(Effect.sync(() => clearInterval(timer)))
    )
  })

const tableModule = siblingModule(import.meta.url, "tasks")

/** the next turn of the event loop: Ctrl-C (SIGINT, SIGTERM) is handled there */
const nextTurn = Effect.callback<void>((resume) => {
  const immediate = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(immediate))
})

/**
 * `f` summed from `from` up to `n`, or until `deadline` (checked every 64 numbers): the sum and the
 * next number. A plain loop, as the slaves' range tasks are, so V8 compiles it the same way: inside
 * the generator the loop was slower, which made the speed-ups look better than they are (primes,
 * n = 1,000,000: 23.6 s, against 17.4 s in one call and 18.3 s in these slices).
 */
const sumUntil = (
  f: (n: number) => number,
  from: number,
  n: number,
  deadline: number
): { readonly sum: number; readonly next: number } => {
  let sum = 0
  let next = from
  do {
    const end = Math.min(n, next + 63)
    for (; next <= end; next++) sum += f(next)
  } while (next <= n && performance.now() < deadline)
  return { sum, next }
}

/**
 * The sequential sum over 1..n in this thread, in slices of about 50 ms with a turn of the event
 * loop between them, so that Ctrl-C stops it (one call over 1..n held the thread: with a large n
 * the demo could not be stopped); the sum and the milliseconds spent computing.
 */
const sequentialSum = (f: (n: number) => number, n: number) =>
  Effect.gen(function* () {
    let sum = 0
    let millis = 0
    for (let next = 1; next <= n; ) {
      const start = performance.now()
      const slice = sumUntil(f, next, n, start + 50)
      millis += performance.now() - start
      sum += slice.sum
      next = slice.next
      yield* nextTurn
    }
    return [sum, millis] as const
  })

export const runDemo = (options: DemoOptions) =>
  Effect.gen(function* () {
    const f = options.variant === "primes" ? PrimeFactors.numPrimeFactors : PrimeFactors.numPrimeFactorsNaive
    const task = options.variant === "primes" ? PrimeFactors.primesRange : PrimeFactors.naiveRange
    const items = Math.ceil(options.n / options.chunk)
    if (!options.json) {
      yield* Console.log(
        `sum of numPrimeFactors (${options.variant}) over 1..${options.n}: ${items} items of ${options.chunk} numbers, ` +
          `${options.workers} worker-thread slave nodes`
      )
    }
    const [expected, seqMillis] = yield* sequentialSum(f, options.n)
    const rows: Array<Row> = [
      { pattern: "sequential", result: expected, ok: true, millis: seqMillis, speedup: 1, peakHeapMiB: 0 }
    ]
    for (const pattern of options.patterns) {
      const bar = progressBar(pattern, items)
      // fresh slaves for each pattern: each grows its own prime table, as in the blog
      const [result, millis, peak] = yield* Backend.startMaster((slaves) =>
        Effect.gen(function* () {
          const job = {
            task,
            inputs: PrimeFactors.ranges(1, options.n, options.chunk),
            nodes: slaves,
            reduce: PrimeFactors.sum,
            onProgress: (p: WorkStealing.Progress) => bar.update(p.done)
          }
          const start = performance.now()
          const [sum, peakHeap] = yield* withPeakHeap(
            pattern === "master-slave"
              ? MasterSlave.run(job)
              : pattern === "work-pushing"
                ? WorkPushing.run({ ...job, window: options.window })
                : WorkStealing.run({ ...job, prefetch: options.prefetch })
          )
          return [sum, performance.now() - start, peakHeap] as const
        })
      ).pipe(Effect.ensuring(bar.done), Effect.provide(Backend.workerThreads(options.workers, { module: tableModule })))
      rows.push({ pattern, result, ok: result === expected, millis, speedup: seqMillis / millis, peakHeapMiB: peak })
    }
    if (options.json) {
      yield* Console.log(
        JSON.stringify({ n: options.n, variant: options.variant, workers: options.workers, rows }, null, 2)
      )
    } else {
      yield* Console.log(formatTable(rows))
    }
    if (rows.some((r) => !r.ok)) return yield* new DemoMismatch({ expected })
    return rows
  })

/** A pattern's result differs from the sequential sum. */
export class DemoMismatch extends Schema.TaggedError<DemoMismatch>()("DemoMismatch", { expected: Schema.Number }) {
  override get message(): string {
    return `a pattern's result differs from the sequential sum ${this.expected}`
  }
}

/** rows of cells as a table: a header, a rule, the first column left-aligned and the others right-aligned */
export const formatColumns = (header: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n")
}

export const formatTable = (rows: ReadonlyArray<Row>): string =>
  formatColumns(
    ["pattern", "result", "check", "time ms", "speed-up", "master peak heap MiB"],
    rows.map((r) => [
      r.pattern,
      r.result.toLocaleString("en-US"),
      r.ok ? "ok" : "WRONG",
      r.millis.toFixed(0),
      `${r.speedup.toFixed(2)}x`,
      r.pattern === "sequential" ? "-" : r.peakHeapMiB.toFixed(1)
    ])
  )
