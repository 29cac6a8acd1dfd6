/**
 * The node-to-node protocol: one `Schema.Union` of tagged classes. Every frame a node sends to
 * another node is one of these, encoded with effect's SchemaBinary; user messages travel inside as
 * the bytes of their own schema (`key` names their type, see `Message.keyOf`), decoded by the
 * receiver with the schema it matches on.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Protocol } from "cloud-effect"
 * const bytes = Protocol.encodeFrame(new Protocol.Goodbye({}))
 * Protocol.decodeFrame(bytes)._tag // "Goodbye"
 * ```
 * @since 0.1.0
 */
import { Schema } from "effect"
import { SchemaBinary } from "effect/encoding"
import { Closure, ProcessInfoReply, RegisterReply, SpawnRef, WhereIsReply } from "./internal/closure.ts"
import { DiedReason, MonitorRef } from "./Notification.ts"
import { ProcessId } from "./ProcessId.ts"

/** A message for the process `to`. @since 0.1.0 */
export class Send extends Schema.TaggedClass<Send>()("Send", {
  to: ProcessId,
  from: Schema.NullOr(ProcessId),
  key: Schema.String,
  payload: Schema.Uint8Array
}) {}

/** A value for channel `index` of process `pid`. @since 0.1.0 */
export class SendChan extends Schema.TaggedClass<SendChan>()("SendChan", {
  pid: ProcessId,
  index: Schema.Int,
  key: Schema.String,
  payload: Schema.Uint8Array
}) {}

/** `from` links to `to`. @since 0.1.0 */
export class Link extends Schema.TaggedClass<Link>()("Link", { from: ProcessId, to: ProcessId }) {}

/** `from` removes its link to `to`. @since 0.1.0 */
export class Unlink extends Schema.TaggedClass<Unlink>()("Unlink", { from: ProcessId, to: ProcessId }) {}

/** `ref.watcher` monitors `to`. @since 0.1.0 */
export class Monitor extends Schema.TaggedClass<Monitor>()("Monitor", { ref: MonitorRef, to: ProcessId }) {}

/** Remove the monitor `ref` on `to`. @since 0.1.0 */
export class Unmonitor extends Schema.TaggedClass<Unmonitor>()("Unmonitor", { ref: MonitorRef, to: ProcessId }) {}

/**
 * `pid` died: for the monitor `ref` of `watcher`, or (with `ref` null) for `watcher`'s link.
 * @since 0.1.0
 */
export class Died extends Schema.TaggedClass<Died>()("Died", {
  watcher: ProcessId,
  ref: Schema.NullOr(MonitorRef),
  pid: ProcessId,
  reason: DiedReason
}) {}

/** An exit signal from `from` to `to`, with a reason of any message type. @since 0.1.0 */
export class Exit extends Schema.TaggedClass<Exit>()("Exit", {
  from: ProcessId,
  to: ProcessId,
  key: Schema.String,
  payload: Schema.Uint8Array
}) {}

/** Kill `to` (not catchable). @since 0.1.0 */
export class Kill extends Schema.TaggedClass<Kill>()("Kill", {
  from: ProcessId,
  to: ProcessId,
  reason: Schema.String
}) {}

/** Start `closure` for `ref.requester`; with `call`, the process sends its result back. @since 0.1.0 */
export class Spawn extends Schema.TaggedClass<Spawn>()("Spawn", {
  ref: SpawnRef,
  closure: Closure,
  call: Schema.Boolean
}) {}

/** The answer to `Spawn`: the new pid, or why there is none. @since 0.1.0 */
export class SpawnReply extends Schema.TaggedClass<SpawnReply>()("SpawnReply", {
  ref: SpawnRef,
  pid: Schema.NullOr(ProcessId),
  error: Schema.NullOr(Schema.String)
}) {}

/** A message for the process registered as `name` on the receiving node. @since 0.1.0 */
export class NSend extends Schema.TaggedClass<NSend>()("NSend", {
  name: Schema.String,
  from: Schema.NullOr(ProcessId),
  key: Schema.String,
  payload: Schema.Uint8Array
}) {}

/** Look up `name` in the receiving node's registry for `requester`. @since 0.1.0 */
export class WhereIs extends Schema.TaggedClass<WhereIs>()("WhereIs", { requester: ProcessId, name: Schema.String }) {}

/** Register `pid` as `name` in the receiving node's registry for `requester`. @since 0.1.0 */
export class Register extends Schema.TaggedClass<Register>()("Register", {
  requester: ProcessId,
  name: Schema.String,
  pid: ProcessId
}) {}

/** Ask for `ProcessInfo` of `pid`. @since 0.1.0 */
export class GetInfo extends Schema.TaggedClass<GetInfo>()("GetInfo", {
  requester: ProcessId,
  id: Schema.Int,
  pid: ProcessId
}) {}

/** A reply for `requester`'s mailbox (WhereIsReply, RegisterReply, ProcessInfoReply). @since 0.1.0 */
export class Reply extends Schema.TaggedClass<Reply>()("Reply", {
  requester: ProcessId,
  message: Schema.Union([WhereIsReply, RegisterReply, ProcessInfoReply])
}) {}

/** The sending node is shutting down; everything it said before this frame has arrived. @since 0.1.0 */
export class Goodbye extends Schema.TaggedClass<Goodbye>()("Goodbye", {}) {}

/**
 * Every frame of the protocol.
 * @since 0.1.0
 */
export const Frame = Schema.Union([
  Send,
  SendChan,
  Link,
  Unlink,
  Monitor,
  Unmonitor,
  Died,
  Exit,
  Kill,
  Spawn,
  SpawnReply,
  NSend,
  WhereIs,
  Register,
  GetInfo,
  Reply,
  Goodbye
])
/** @since 0.1.0 */
export type Frame = typeof Frame.Type

const codec = SchemaBinary.toCodec(Frame)
const encodeSync = Schema.encodeSync(codec)
const decodeSync = Schema.decodeUnknownSync(codec)

/**
 * Encode one frame.
 * @since 0.1.0
 */
export const encodeFrame = (frame: Frame): Uint8Array<ArrayBuffer> => exact(encodeSync(frame))

/**
 * SchemaBinary writes into a shared 64 KiB arena and returns a view of it: a frame that is kept
 * (queued, or a payload sitting in a mailbox) would pin the whole arena. Keep an exact copy.
 * @internal
 */
export const exact = (bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()

/**
 * Decode one frame; throws a `SchemaError` for bytes that are not a frame.
 * @since 0.1.0
 */
export const decodeFrame = (bytes: Uint8Array): Frame => decodeSync(bytes)
