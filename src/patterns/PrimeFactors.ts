/**
 * The workload of the demos, tests and benchmarks: the number of prime factors of n (with
 * multiplicity; numPrimeFactors 1 = 0), summed over 1..n. Two variants with equal values:
 *
 * - `primes`, the Cloud Haskell demos' own `numPrimeFactors`: trial division of n by the primes in
 *   ascending order (no square-root cut-off), from a prime table that each node (each thread or OS
 *   process) grows lazily, testing each candidate against the known primes;
 * - `naive`: trial division by every m = 2, 3, 4, ….
 *
 * The cost per n is very skewed (a prime n is the most expensive), which is why work-stealing helps.
 * Check values: 1..10 → 15, 1..1,000 → 2,877, 1..10,000 → 31,985, 1..100,000 → 343,614.
 *
 * @example
 * ```ts
 * import { PrimeFactors } from "cloud-effect"
 * PrimeFactors.numPrimeFactors(12) // 3 (2 · 2 · 3)
 * PrimeFactors.sequential(PrimeFactors.numPrimeFactors, 10) // 15
 * ```
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Task from "../Task.ts"

// the prime table of this thread, grown on demand
const table: Array<number> = [2]

const grow = (): void => {
  let candidate = table[table.length - 1]! + 1
  while (true) {
    let composite = false
    for (let i = 0; i < table.length; i++) {
      if (candidate % table[i]! === 0) {
        composite = true
        break
      }
    }
    if (!composite) {
      table.push(candidate)
      return
    }
    candidate++
  }
}

const primesCount = (n: number): number => {
  let count = 0
  let i = 0
  while (n > 1) {
    if (i === table.length) grow()
    const p = table[i]!
    if (n % p === 0) {
      count++
      n /= p
    } else {
      i++
    }
  }
  return count
}

const naiveCount = (n: number): number => {
  let count = 0
  let m = 2
  while (n > 1) {
    if (n % m === 0) {
      count++
      n /= m
    } else {
      m++
    }
  }
  return count
}

/** trial division of a number that is not a safe integer would not end */
const checkInteger = (n: number, what: string): void => {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what}: ${n} is not an integer`)
}

/**
 * The number of prime factors of n, by the primes in ascending order (the Cloud Haskell demos'); 0
 * for n <= 1. Throws a `RangeError` for a number that is not a safe integer.
 * @since 0.1.0
 */
export const numPrimeFactors = (n: number): number => {
  checkInteger(n, "numPrimeFactors")
  return primesCount(n)
}

/**
 * The number of prime factors of n, by trial division by every m = 2, 3, 4, …; 0 for n <= 1.
 * Throws a `RangeError` for a number that is not a safe integer.
 * @since 0.1.0
 */
export const numPrimeFactorsNaive = (n: number): number => {
  checkInteger(n, "numPrimeFactorsNaive")
  return naiveCount(n)
}

/**
 * The sum of `f` over 1..n, in this thread: the sequential reference.
 * @since 0.1.0
 */
export const sequential = (f: (n: number) => number, n: number): number => {
  let sum = 0
  for (let i = 1; i <= n; i++) sum += f(i)
  return sum
}

/**
 * A range of numbers `from..to` (inclusive), an input of the range tasks.
 * @since 0.1.0
 */
export class Range extends Schema.TaggedClass<Range>()("PrimeFactors/Range", { from: Schema.Int, to: Schema.Int }) {}

/**
 * The sum of numPrimeFactors over a range (inclusive), in this thread: the body of `primesRange`.
 *
 * @example
 * ```ts
 * import { PrimeFactors } from "cloud-effect"
 * PrimeFactors.sumPrimeFactors({ from: 1, to: 10 }) // 15
 * ```
 * @since 0.1.0
 */
export const sumPrimeFactors = (range: { readonly from: number; readonly to: number }): number => {
  checkInteger(range.from, "sumPrimeFactors")
  checkInteger(range.to, "sumPrimeFactors")
  let sum = 0
  for (let i = range.from, to = range.to; i <= to; i++) sum += primesCount(i)
  return sum
}

/**
 * The sum of numPrimeFactorsNaive over a range (inclusive), in this thread: the body of `naiveRange`.
 * @since 0.1.0
 */
export const sumPrimeFactorsNaive = (range: { readonly from: number; readonly to: number }): number => {
  checkInteger(range.from, "sumPrimeFactorsNaive")
  checkInteger(range.to, "sumPrimeFactorsNaive")
  let sum = 0
  for (let i = range.from, to = range.to; i <= to; i++) sum += naiveCount(i)
  return sum
}

/**
 * Task: numPrimeFactors of one number (the `primes` variant).
 * @since 0.1.0
 */
export const primes = Task.sync("cloud-effect/PrimeFactors/primes", Schema.Int, Schema.Int, numPrimeFactors)

/**
 * Task: numPrimeFactors of one number (the `naive` variant).
 * @since 0.1.0
 */
export const naive = Task.sync("cloud-effect/PrimeFactors/naive", Schema.Int, Schema.Int, numPrimeFactorsNaive)

/**
 * Task: the sum of numPrimeFactors over a range (the `primes` variant).
 * @since 0.1.0
 */
export const primesRange = Task.sync("cloud-effect/PrimeFactors/primesRange", Range, Schema.Int, sumPrimeFactors)

/**
 * Task: the sum of numPrimeFactors over a range (the `naive` variant).
 * @since 0.1.0
 */
export const naiveRange = Task.sync("cloud-effect/PrimeFactors/naiveRange", Range, Schema.Int, sumPrimeFactorsNaive)

/**
 * All the workload's tasks, for a `RemoteTable`.
 * @since 0.1.0
 */
export const tasks = [primes, naive, primesRange, naiveRange] as const

/**
 * The numbers from..to, lazily.
 * @since 0.1.0
 */
export const range = function* (from: number, to: number): Generator<number> {
  for (let i = from; i <= to; i++) yield i
}

/**
 * from..to in consecutive ranges of `size` numbers, lazily. Throws a `RangeError` for a `size` that
 * is not an integer >= 1 or Infinity (the ranges would never reach `to`).
 * @since 0.1.0
 */
export const ranges = (from: number, to: number, size: number): Generator<Range> => {
  if (!((Number.isSafeInteger(size) || size === Infinity) && size >= 1)) {
    throw new RangeError(`ranges: size ${size} is not an integer >= 1 (or Infinity: one range)`)
  }
  return rangesOf(from, to, size)
}

const rangesOf = function* (from: number, to: number, size: number): Generator<Range> {
  for (let i = from; i <= to; i += size) yield new Range({ from: i, to: Math.min(to, i + size - 1) })
}

/**
 * Sum the outputs.
 * @since 0.1.0
 */
export const sum = { initial: 0, combine: (acc: number, n: number) => acc + n }
