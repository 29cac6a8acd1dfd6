/**
 * Checking what users give the patterns, and naming it in errors.
 * @internal
 */
import { InvalidOptions } from "./errors.ts"

/** a value (an input, an option) for an error message: short, and never a throw */
export const describeValue = (input: unknown): string => {
  const text = (): string => {
    if (typeof input === "string") return JSON.stringify(input)
    if (typeof input === "bigint") return `${input}n`
    if (typeof input === "object" && input !== null && (input.constructor === Object || Array.isArray(input))) {
      try {
        return JSON.stringify(input, (_, v) => (typeof v === "bigint" ? `${v}n` : v))
      } catch {
        // (a cycle): as below
      }
    }
    try {
      return String(input)
    } catch {
      // an object with no prototype, or a toString that throws
      return Object.prototype.toString.call(input)
    }
  }
  const s = text()
  return s.length > 200 ? `${s.slice(0, 200)}…` : s
}

/**
 * `InvalidOptions` for an option that is not an integer from `min` (to `max`, if given, with what
 * that bound is), or undefined.
 */
export const integerOption = (
  option: string,
  value: number,
  min: number,
  max?: { readonly value: number; readonly what: string }
): InvalidOptions | undefined =>
  Number.isSafeInteger(value) && value >= min && (max === undefined || value <= max.value)
    ? undefined
    : new InvalidOptions({
        option,
        value: describeValue(value),
        expected: max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max.value} (${max.what})`
      })
