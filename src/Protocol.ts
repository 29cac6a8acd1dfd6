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
import { NodeId } from "./NodeId.ts"
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

// Every frame starts with one byte: 0 = a SchemaBinary-encoded `Frame`, 1 = a `Send` in the compact
// layout below. `Send` carries almost all the traffic, and SchemaBinary spent most of a small
// message's time building and parsing its two pids: the compact layout writes each pid from a
// cached encoding, and reading interns pids, so a conversation re-creates none.
//   [1] [to: pid] [0 | 1 + from: pid] [key length: u16] [key: utf-8] [payload: the rest]
//   pid = [address length: u16] [address: utf-8] [incarnation: f64] [id: u32]
const SCHEMA = 0
const SEND = 1

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

const pidBytes = new WeakMap<ProcessId, Uint8Array>()
const encodePid = (pid: ProcessId): Uint8Array => {
  let bytes = pidBytes.get(pid)
  if (bytes === undefined) {
    const address = utf8.encode(pid.node.address)
    if (address.length > 0xffff || pid.id > 0xffffffff || pid.id < 0) {
      throw new RangeError(`a pid the compact Send layout cannot carry: ${pid}`)
    }
    bytes = new Uint8Array(2 + address.length + 12)
    const view = new DataView(bytes.buffer)
    view.setUint16(0, address.length)
    bytes.set(address, 2)
    view.setFloat64(2 + address.length, pid.incarnation)
    view.setUint32(10 + address.length, pid.id)
    pidBytes.set(pid, bytes)
  }
  return bytes
}

const keyBytes = new Map<string, Uint8Array>()
const encodeKey = (key: string): Uint8Array => {
  let bytes = keyBytes.get(key)
  if (bytes === undefined) {
    bytes = utf8.encode(key)
    if (bytes.length > 0xffff) throw new RangeError(`a message key longer than 65,535 bytes: ${key.slice(0, 40)}…`)
    if (keyBytes.size > 4096) keyBytes.clear()
    keyBytes.set(key, bytes)
  }
  return bytes
}

/** interned pids (and their nodes) read from the wire; bounded */
const pids = new Map<string, ProcessId>()
const nodes = new Map<string, NodeId>()
const internPid = (address: string, incarnation: number, id: number): ProcessId => {
  const k = `${address}/${incarnation}/${id}`
  let pid = pids.get(k)
  if (pid === undefined) {
    let node = nodes.get(address)
    if (node === undefined) {
      if (nodes.size > 4096) nodes.clear()
      node = new NodeId({ address })
      nodes.set(address, node)
    }
    if (pids.size > 65536) pids.clear()
    pid = new ProcessId({ node, incarnation, id })
    pids.set(k, pid)
  }
  return pid
}

/**
 * Encode a `Send` frame without building it first (the hot path of remote sends).
 * @since 0.1.0
 */
export const encodeSend = (
  to: ProcessId,
  from: ProcessId | null,
  key: string,
  payload: Uint8Array
): Uint8Array<ArrayBuffer> => {
  const toBytes = encodePid(to)
  const fromBytes = from === null ? undefined : encodePid(from)
  const keyB = encodeKey(key)
  const size = 1 + toBytes.length + 1 + (fromBytes?.length ?? 0) + 2 + keyB.length + payload.length
  const out = new Uint8Array(size)
  let o = 0
  out[o++] = SEND
  out.set(toBytes, o)
  o += toBytes.length
  if (fromBytes === undefined) {
    out[o++] = 0
  } else {
    out[o++] = 1
    out.set(fromBytes, o)
    o += fromBytes.length
  }
  out[o++] = keyB.length >> 8
  out[o++] = keyB.length & 0xff
  out.set(keyB, o)
  o += keyB.length
  out.set(payload, o)
  return out
}

const decodeSend = (bytes: Uint8Array): Frame => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let o = 1
  const readPid = (): ProcessId => {
    const length = view.getUint16(o)
    const address = fromUtf8.decode(bytes.subarray(o + 2, o + 2 + length))
    o += 2 + length
    const incarnation = view.getFloat64(o)
    const id = view.getUint32(o + 8)
    o += 12
    return internPid(address, incarnation, id)
  }
  const to = readPid()
  const from = bytes[o++] === 1 ? readPid() : null
  const keyLength = view.getUint16(o)
  const key = fromUtf8.decode(bytes.subarray(o + 2, o + 2 + keyLength))
  o += 2 + keyLength
  if (o > bytes.length) throw new RangeError("truncated Send frame")
  // a plain object of the Send's shape: the node reads its fields and builds nothing more
  return { _tag: "Send", to, from, key, payload: bytes.subarray(o) } as unknown as Frame
}

/**
 * Encode one frame.
 * @since 0.1.0
 */
export const encodeFrame = (frame: Frame): Uint8Array<ArrayBuffer> => {
  if (frame._tag === "Send") return encodeSend(frame.to, frame.from, frame.key, frame.payload)
  const body = encodeSync(frame)
  // a fresh, exact buffer: SchemaBinary returns a view of a shared 64 KiB arena, which a frame that
  // is kept (queued, or its payload in a mailbox) would pin
  const out = new Uint8Array(1 + body.length)
  out[0] = SCHEMA
  out.set(body, 1)
  return out
}

/**
 * Decode one frame; throws for bytes that are not a frame.
 * @since 0.1.0
 */
export const decodeFrame = (bytes: Uint8Array): Frame => {
  if (bytes.length === 0) throw new RangeError("an empty frame")
  if (bytes[0] === SEND) return decodeSend(bytes)
  if (bytes[0] !== SCHEMA) throw new RangeError(`an unknown frame type ${bytes[0]}`)
  return decodeSync(bytes.subarray(1))
}
