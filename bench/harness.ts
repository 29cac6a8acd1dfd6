/**
 * Shared pieces of the benchmark suites: the result and suite shapes, repetition with warm-up,
 * statistics and table printing. Bench code may log; library code may not.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

/** One measured quantity, as written to `bench/results/<suite>.json`. */
export interface Result {
  readonly name: string
  readonly value: number
  readonly unit: string
  /** the same quantity for the raw Effect (or plain JS) reference, measured in the same run */
  readonly baseline?: number
  /** always `value / baseline`: above 1 means cloud-effect's number is the larger one */
  readonly ratio?: number
}

/** A benchmark suite: a module that `bench/main.ts` registers under its name. */
export interface Suite {
  readonly name: string
  readonly description: string
  /** runs the benchmarks, prints its tables on stdout and returns the results */
  readonly run: () => Promise<ReadonlyArray<Result>>
}

export const result = (name: string, value: number, unit: string, baseline?: number): Result =>
  baseline === undefined ? { name, value, unit } : { name, value, unit, baseline, ratio: value / baseline }

// -----------------------------------------------------------------------------------------------
// repetition

/** V8's full collection, exposed at run time (the npm script passes node no flags) */
const gc: () => void =
  (globalThis as { readonly gc?: () => void }).gc ??
  (() => {
    setFlagsFromString("--expose-gc")
    return runInNewContext("gc") as () => void
  })()

/**
 * Collect garbage before a measurement (before its warm-up), so a previous benchmark's garbage does
 * not bill it. Not before every run: right after a full collection short runs were seen 3-7x slower.
 */
export const settle = (): void => gc()

export interface Reps {
  readonly warmup: number
  readonly reps: number
}

/** run `f` `warmup` times (discarded) then `reps` times; returns the measured values */
export const repeat = async <A>(f: () => Promise<A>, { warmup, reps }: Reps): Promise<Array<A>> => {
  settle()
  for (let i = 0; i < warmup; i++) await f()
  const out: Array<A> = []
  for (let i = 0; i < reps; i++) out.push(await f())
  return out
}

/**
 * Run two contenders alternately (a, b, a, b, ...) so drift in the machine (turbo, other load, GC
 * state) bills both alike. Warm-up runs of both come first and are discarded.
 */
export const compare = async <A, B>(
  a: () => Promise<A>,
  b: () => Promise<B>,
  { warmup, reps }: Reps
): Promise<{ readonly a: Array<A>; readonly b: Array<B> }> => {
  settle()
  for (let i = 0; i < warmup; i++) {
    await a()
    await b()
  }
  const as: Array<A> = []
  const bs: Array<B> = []
  for (let i = 0; i < reps; i++) {
    as.push(await a())
    bs.push(await b())
  }
  return { a: as, b: bs }
}

// -----------------------------------------------------------------------------------------------
// statistics

const sorted = (xs: ReadonlyArray<number>): Array<number> => [...xs].sort((x, y) => x - y)

export const median = (xs: ReadonlyArray<number>): number => {
  const s = sorted(xs)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** nearest-rank percentile, p in (0, 100] */
export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  const s = sorted(xs)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

export const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

// -----------------------------------------------------------------------------------------------
// printing

/** a number with 3 significant digits (more for large ones), thousands separated */
export const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return String(x)
  const abs = Math.abs(x)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export const fmtRatio = (x: number): string => `${x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)}x`

export const int = (n: number): string => n.toLocaleString("en-US")

/** print a table: first column left-aligned, the others right-aligned */
export const table = (title: string, header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")
  console.log(`\n${title}`)
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const r of rows) console.log(line(r))
}
