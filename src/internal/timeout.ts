/**
 * Durations given by users: timeouts of receives (0 or less polls, Infinity waits for ever) and of
 * the backends and transports.
 * @internal
 */
import { Duration, Option } from "effect"

/** a NaN anywhere in a duration's input (Effect would take it as 0) */
const hasNaN = (input: Duration.Input): boolean => {
  if (typeof input === "number") return Number.isNaN(input)
  if (Array.isArray(input)) return input.some((n) => Number.isNaN(n))
  if (typeof input === "object" && input !== null && !Duration.isDuration(input)) {
    return Object.values(input).some((n) => typeof n === "number" && Number.isNaN(n))
  }
  return false
}

/**
 * A duration in milliseconds; NaN for a NaN input or for something that is not a duration (Effect
 * takes NaN as 0, which would make a wait a poll, and throws "Invalid Input" on an unknown string).
 * A `Duration` already made from NaN is 0 and cannot be told apart.
 */
export const millisOf = (input: Duration.Input): number => {
  // (a number is milliseconds already: the common case of a receive's timeout, with no allocation)
  if (typeof input === "number") return input
  if (hasNaN(input)) return Number.NaN
  const duration = Duration.fromInput(input)
  return Option.isSome(duration) ? Duration.toMillis(duration.value) : Number.NaN
}

/** a duration's input, for a message */
export const describeDuration = (input: Duration.Input | undefined): string => {
  if (Duration.isDuration(input)) return Duration.format(input)
  if (Array.isArray(input)) return `[${input.map(String).join(", ")}]`
  if (typeof input === "object" && input !== null) {
    return `{ ${Object.entries(input)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join(", ")} }`
  }
  return String(input)
}

/**
 * A receive's timeout in milliseconds: a negative one polls, as 0 does (a deadline already past); a
 * NaN or something that is not a duration is a defect, this `RangeError` naming it (returned, not
 * wrapped in an effect: a receive checks it on its own path without another step).
 */
export const timeoutMillis = (what: string, timeout: Duration.Input): number | RangeError => {
  const millis = millisOf(timeout)
  return Number.isNaN(millis)
    ? new RangeError(`${what}: the timeout ${describeDuration(timeout)} is not a duration`)
    : Math.max(0, millis)
}
