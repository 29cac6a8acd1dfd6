/**
 * Typed channels: `newChan(schema)` gives a `SendPort<A>`, a serializable value any process (on
 * any node) can send `A`s to, and a `ReceivePort<A>`, which only its creator's node can read.
 * Several receive ports can be merged, biased (first port first) or round-robin. A channel belongs
 * to the process that made it: once that process has died, values sent to it are dropped, and those
 * already in it stay readable through the `ReceivePort`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Channel, Process } from "cloud-effect"
 * const echo = Effect.gen(function*() {
 *   const [sendPort, receivePort] = yield* Channel.newChan(Schema.Number)
 *   yield* Process.spawnLocal(Channel.sendChan(sendPort, 42))
 *   return yield* Channel.receiveChan(receivePort) // 42
 * })
 * ```
 * @since 0.1.0
 */
import { type Duration, Effect, Option, Schema } from "effect"
import { type CurrentProcess, withProcess, withState } from "./internal/context.ts"
import { ChannelBuffer, Empty, mergeBiased, mergeRoundRobin, type Port, take } from "./internal/port.ts"
import { timeoutMillis } from "./internal/timeout.ts"
import * as Message from "./Message.ts"
import { ProcessId } from "./ProcessId.ts"

/**
 * The wire form of a send port: the owning process and the channel's index in it.
 * @since 0.1.0
 */
export class SendPortId extends Schema.TaggedClass<SendPortId>()("SendPort", { pid: ProcessId, index: Schema.Int }) {
  override toString(): string {
    return `SendPort(${this.pid}#${this.index})`
  }
}

declare const SendPortTypeId: unique symbol

/**
 * The sending end of a channel of `A`s. A message like any other: put it in a message to give
 * another process (on any node) the right to send to the channel.
 * @since 0.1.0
 */
export interface SendPort<in A> extends SendPortId {
  readonly [SendPortTypeId]?: (a: A) => void
}

/**
 * The schema of a `SendPort<A>`, for message fields: `Schema.TaggedClass(...)("Job", { reply:
 * Channel.SendPort(Schema.Number) })`. The element type is checked where the values arrive (the
 * channel decodes them with its own schema), so the port itself travels as `SendPortId`.
 * @since 0.1.0
 */
export const SendPort = <A>(_element: Schema.Schema<A>): Schema.Codec<SendPort<A>, typeof SendPortId.Encoded> =>
  SendPortId as unknown as Schema.Codec<SendPort<A>, typeof SendPortId.Encoded>

/**
 * The receiving end of a channel (or of several merged channels). Local to its node.
 * @since 0.1.0
 */
export class ReceivePort<out A> {
  /** @internal */
  readonly port: Port<A>
  /** @internal */
  constructor(port: Port<A>) {
    this.port = port
  }
}

/**
 * Create a channel of `schema`'s values, owned by the current process. It goes away when the
 * process dies, or when its `ReceivePort` is no longer reachable (no variable, merged port or
 * waiting receive holds it): the process's channel table holds channels weakly, so a server that
 * makes a reply channel per request does not grow. Values sent to a channel that is gone are
 * dropped, like messages to a dead process.
 * @since 0.1.0
 */
export const newChan = <A>(
  schema: Schema.Schema<A>
): Effect.Effect<readonly [SendPort<A>, ReceivePort<A>], never, CurrentProcess> =>
  withState((s) => {
    const index = s.nextChannel++
    const buffer = new ChannelBuffer<A>((key, payload) =>
      Option.getOrElse(Message.decode(schema, key, payload), (): A | Empty => Empty)
    )
    s.channels.set(index, buffer as ChannelBuffer<unknown>)
    return [new SendPortId({ pid: s.self, index }) as SendPort<A>, new ReceivePort<A>(buffer)] as const
  })

/**
 * Send a value to a channel. Never blocks and never fails: a value for a channel whose process is
 * dead, or whose `ReceivePort` is gone, is dropped.
 * @since 0.1.0
 */
export const sendChan = <A extends Message.Sendable>(
  port: SendPort<A>,
  value: A
): Effect.Effect<void, never, CurrentProcess> =>
  withProcess((s) => {
    const error = Message.validate(value)
    if (error !== undefined) return Effect.die(error)
    s.node.sendChan(port.pid, port.index, value)
    return Effect.void
  })

/**
 * Wait for the next value on a receive port.
 * @since 0.1.0
 */
export const receiveChan = <A>(port: ReceivePort<A>): Effect.Effect<A> => take(port.port)

/**
 * `receiveChan` with a timeout (`0`, or less, polls): `None` if no value came in time. A timeout
 * that is NaN or not a duration is a defect.
 * @since 0.1.0
 */
export const receiveChanTimeout = <A>(timeout: Duration.Input, port: ReceivePort<A>): Effect.Effect<Option.Option<A>> =>
  Effect.suspend(() => {
    const millis = timeoutMillis("receiveChanTimeout", timeout)
    if (millis instanceof RangeError) return Effect.die(millis)
    const v = port.port.poll()
    if (v !== Empty) return Effect.succeed(Option.some(v))
    if (millis === 0) return Effect.succeed(Option.none())
    return Effect.timeoutOption(take(port.port), millis)
  })

/**
 * Merge ports: a receive takes from the first port, in list order, that has a value.
 * @since 0.1.0
 */
export const mergePortsBiased = <A>(ports: ReadonlyArray<ReceivePort<A>>): Effect.Effect<ReceivePort<A>> =>
  Effect.sync(() => new ReceivePort(mergeBiased(ports.map((p) => p.port))))

/**
 * Merge ports: receives take from the ports in turn (after a port gave a value, the next one is
 * asked first).
 * @since 0.1.0
 */
export const mergePortsRR = <A>(ports: ReadonlyArray<ReceivePort<A>>): Effect.Effect<ReceivePort<A>> =>
  Effect.sync(() => new ReceivePort(mergeRoundRobin(ports.map((p) => p.port))))
