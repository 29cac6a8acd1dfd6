/**
 * Durations given by users: timeouts of receives (>= 0: 0 polls, Infinity waits for ever) and of
 * the backends and transports.
 * @internal
 */
import { Duration, Effect, Option } from "effect"

/**
 * A duration in milliseconds; NaN for NaN or for something that is not a duration (Effect takes NaN
 * as 0, which would make a wait a poll, and throws "Invalid Input" on an unknown string).
 */
export const millisOf = (input: Duration.Input): number => {
  if (typeof input === "number" && Number.isNaN(input)) return Number.NaN
  const duration = Duration.fromInput(input)
  return Option.isSome(duration) ? Duration.toMillis(duration.value) : Number.NaN
}

/** a receive's timeout in milliseconds; a defect (a `RangeError` naming it) if it is not a duration >= 0 */
export const timeoutMillis = (what: string, timeout: Duration.Input): Effect.Effect<number> => {
  const millis = millisOf(timeout)
  return millis >= 0
    ? Effect.succeed(millis)
    : Effect.die(new RangeError(`${what}: the timeout ${String(timeout)} is not a duration >= 0`))
}
