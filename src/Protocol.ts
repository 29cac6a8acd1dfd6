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
 * const bytes = Protocol.encodeFrame(new Protocol.Goodbye({ incarnation: 1 }))
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

/**
 * The sending node (this incarnation of it) is shutting down; everything it said before this frame
 * has arrived.
 * @since 0.1.0
 */
export class Goodbye extends Schema.TaggedClass<Goodbye>()("Goodbye", { incarnation: Schema.Int }) {}

/**
 * A process of the sending node monitors the receiving node: the receiver counts the sender among
 * the peers it says `Goodbye` to when it shuts down (it may have heard nothing else from it).
 * @since 0.1.0
 */
export class WatchNode extends Schema.TaggedClass<WatchNode>()("WatchNode", {}) {}

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
  Goodbye,
  WatchNode
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

/** nodes read from the wire, by address; bounded */
const nodes = new Map<string, NodeId>()
const internNode = (address: string): NodeId => {
  let node = nodes.get(address)
  if (node === undefined) {
    if (nodes.size > 4096) nodes.clear()
    node = new NodeId({ address })
    nodes.set(address, node)
  }
  return node
}

/**
 * A direct-mapped cache from a byte string to what it decodes to: a conversation sends the same
 * pids and keys over and over, so reading one is a hash and a compare of a few bytes, with no
 * string decoded and no object built.
 */
class Interned<A> {
  private readonly keys: Array<Uint8Array | undefined>
  private readonly values: Array<A | undefined>
  private readonly mask: number
  private readonly make: (bytes: Uint8Array, start: number, end: number) => A

  constructor(slots: number, make: (bytes: Uint8Array, start: number, end: number) => A) {
    this.keys = new Array(slots).fill(undefined)
    this.values = new Array(slots).fill(undefined)
    this.mask = slots - 1
    this.make = make
  }

  get(bytes: Uint8Array, start: number, end: number): A {
    let h = 0x811c9dc5
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
    const slot = (h >>> 0) & this.mask
    const key = this.keys[slot]
    if (key !== undefined && key.length === end - start) {
      let i = 0
      while (i < key.length && key[i] === bytes[start + i]) i++
      if (i === key.length) return this.values[slot]!
    }
    const value = this.make(bytes, start, end)
    this.keys[slot] = bytes.slice(start, end)
    this.values[slot] = value
    return value
  }
}

/** short ASCII strings (addresses, tags) without a trip through TextDecoder */
const decodeString = (bytes: Uint8Array, start: number, end: number): string => {
  if (end - start > 64) return fromUtf8.decode(bytes.subarray(start, end))
  let out = ""
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (b >= 0x80) return fromUtf8.decode(bytes.subarray(start, end))
    out += String.fromCharCode(b)
  }
  return out
}

/** a pid's bytes (`[address length] [address] [incarnation] [id]`), from `start` to `end` */
const readPidBytes = (bytes: Uint8Array, start: number, end: number): ProcessId => {
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start)
  const length = view.getUint16(0)
  const node = internNode(decodeString(bytes, start + 2, start + 2 + length))
  return new ProcessId({ node, incarnation: view.getFloat64(2 + length), id: view.getUint32(10 + length) })
}

const pidCache = new Interned(4096, readPidBytes)
const keyCache = new Interned(1024, decodeString)

/** copy a few bytes without `TypedArray.prototype.set`'s fixed cost */
const copy = (from: Uint8Array, to: Uint8Array, at: number): void => {
  const n = from.length
  if (n > 64) {
    to.set(from, at)
    return
  }
  for (let i = 0; i < n; i++) to[at + i] = from[i]!
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
  copy(toBytes, out, o)
  o += toBytes.length
  if (fromBytes === undefined) {
    out[o++] = 0
  } else {
    out[o++] = 1
    copy(fromBytes, out, o)
    o += fromBytes.length
  }
  out[o++] = keyB.length >> 8
  out[o++] = keyB.length & 0xff
  copy(keyB, out, o)
  o += keyB.length
  copy(payload, out, o)
  return out
}

const truncated = () => new RangeError("truncated Send frame")

const decodeSend = (bytes: Uint8Array): Frame => {
  const n = bytes.length
  let o = 1
  const readPid = (): ProcessId => {
    if (o + 2 > n) throw truncated()
    const end = o + 2 + ((bytes[o]! << 8) | bytes[o + 1]!) + 12
    if (end > n) throw truncated()
    const pid = pidCache.get(bytes, o, end)
    o = end
    return pid
  }
  const to = readPid()
  if (o >= n) throw truncated()
  const from = bytes[o++] === 1 ? readPid() : null
  if (o + 2 > n) throw truncated()
  const keyEnd = o + 2 + ((bytes[o]! << 8) | bytes[o + 1]!)
  if (keyEnd > n) throw truncated()
  const key = keyCache.get(bytes, o + 2, keyEnd)
  o = keyEnd
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
