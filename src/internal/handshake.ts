/**
 * The connection handshake of stream transports: both ends prove they know the shared cookie by
 * HMAC challenge-response before anything else crosses the connection.
 *
 * ```text
 * connecting side                         accepting side
 *   Hello { version, address, nonce }  ->
 *                                      <-  Challenge { version, nonce2, HMAC(cookie, nonce || "server") }
 *   Proof { HMAC(cookie, nonce2 || "client") } ->
 *                                      <-  Accepted
 * ```
 *
 * The connecting side sends nothing else until `Accepted`, so the accepting side can keep a small
 * frame limit until the handshake is over. Either side may answer `Refused { reason }` instead (and
 * closes the connection). The messages are
 * a Schema union encoded with SchemaBinary and travel as `FrameType.Handshake` frames.
 *
 * @example
 * ```ts
 * import * as Handshake from "./handshake.ts"
 * const cookie = Handshake.cookieKey("secret")
 * const { hello, nonce } = Handshake.hello("tcp://127.0.0.1:4000")
 * const answer = Handshake.answerHello(cookie, hello) // a Challenge
 * ```
 * @internal
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { Redacted, Result, Schema } from "effect"
import { SchemaBinary } from "effect/encoding"

/**
 * The protocol version; peers with another version are refused. 2: `Goodbye` names the node's
 * incarnation, and `WatchNode` is new.
 */
export const VERSION = 2

/** bytes of a nonce */
export const NONCE_SIZE = 32

/** the largest handshake message a connection accepts before the handshake completes */
export const MAX_HANDSHAKE_FRAME = 4096

/** The types of frames on a stream transport connection. */
export const FrameType = {
  /** a payload for the endpoint's handler */
  Data: 0,
  /** a handshake message */
  Handshake: 1,
  /** nothing: proof that the peer is alive */
  Heartbeat: 2
} as const

/** The connecting side introduces itself. */
export class Hello extends Schema.TaggedClass<Hello>()("Hello", {
  version: Schema.Int,
  address: Schema.String,
  nonce: Schema.Uint8Array
}) {}

/** The accepting side proves it knows the cookie, and challenges the connecting side. */
export class Challenge extends Schema.TaggedClass<Challenge>()("Challenge", {
  version: Schema.Int,
  nonce: Schema.Uint8Array,
  proof: Schema.Uint8Array
}) {}

/** The connecting side proves it knows the cookie. */
export class Proof extends Schema.TaggedClass<Proof>()("Proof", { proof: Schema.Uint8Array }) {}

/** The accepting side accepted the proof: the connection is open. */
export class Accepted extends Schema.TaggedClass<Accepted>()("Accepted", {}) {}

/** The handshake failed; the sender closes the connection after this message. */
export class Refused extends Schema.TaggedClass<Refused>()("Refused", { reason: Schema.String }) {}

/** Every handshake message. */
export const Message = Schema.Union([Hello, Challenge, Proof, Accepted, Refused])
export type Message = typeof Message.Type

const codec = SchemaBinary.toCodec(Message)
const encodeSync = Schema.encodeSync(codec)
const decodeResult = Schema.decodeUnknownResult(codec)

/** encode a handshake message */
export const encode = (message: Message): Uint8Array => encodeSync(message)

/** decode a handshake message; `undefined` for bytes that are not one */
export const decode = (bytes: Uint8Array): Message | undefined => {
  try {
    const result = decodeResult(bytes)
    return Result.isSuccess(result) ? result.success : undefined
  } catch {
    return undefined
  }
}

/** A cookie as an HMAC key. */
export interface CookieKey {
  readonly key: Redacted.Redacted<Uint8Array>
}

/** the HMAC key of a cookie */
export const cookieKey = (cookie: string | Redacted.Redacted<string>): CookieKey => ({
  key: Redacted.make(new TextEncoder().encode(Redacted.isRedacted(cookie) ? Redacted.value(cookie) : cookie))
})

/** HMAC-SHA256(cookie, nonce || role) */
export const prove = (cookie: CookieKey, nonce: Uint8Array, role: "server" | "client"): Uint8Array =>
  new Uint8Array(createHmac("sha256", Redacted.value(cookie.key)).update(nonce).update(role).digest())

/** whether `proof` is HMAC-SHA256(cookie, nonce || role), compared in constant time */
export const verify = (cookie: CookieKey, nonce: Uint8Array, role: "server" | "client", proof: Uint8Array): boolean => {
  const expected = prove(cookie, nonce, role)
  return proof.length === expected.length && timingSafeEqual(proof, expected)
}

/** a fresh random nonce */
export const newNonce = (): Uint8Array => new Uint8Array(randomBytes(NONCE_SIZE))

/** the connecting side's first message, and the nonce it must remember */
export const hello = (address: string): { readonly hello: Hello; readonly nonce: Uint8Array } => {
  const nonce = newNonce()
  return { hello: new Hello({ version: VERSION, address, nonce }), nonce }
}

/**
 * The accepting side's answer to a `Hello`: a `Challenge` (remember its nonce for `checkProof`), or
 * `Refused` for another version or a nonce that is too short.
 */
export const answerHello = (cookie: CookieKey, message: Hello): Challenge | Refused => {
  if (message.version !== VERSION) {
    return new Refused({ reason: `version mismatch: the peer speaks ${message.version}, this node ${VERSION}` })
  }
  if (message.nonce.length < 16) return new Refused({ reason: "the nonce is too short" })
  return new Challenge({ version: VERSION, nonce: newNonce(), proof: prove(cookie, message.nonce, "server") })
}

/**
 * The connecting side's answer to a `Challenge` for the nonce it sent: `Proof`, or `Refused` when
 * the accepting side speaks another version or does not know the cookie.
 */
export const answerChallenge = (cookie: CookieKey, nonce: Uint8Array, message: Challenge): Proof | Refused => {
  if (message.version !== VERSION) {
    return new Refused({ reason: `version mismatch: the peer speaks ${message.version}, this node ${VERSION}` })
  }
  if (!verify(cookie, nonce, "server", message.proof)) {
    return new Refused({ reason: "wrong cookie: the proof does not match this node's cookie" })
  }
  if (message.nonce.length < 16) return new Refused({ reason: "the nonce is too short" })
  return new Proof({ proof: prove(cookie, message.nonce, "client") })
}

/** the accepting side checks the `Proof` for the nonce of its `Challenge` */
export const checkProof = (cookie: CookieKey, challenge: Challenge, message: Proof): Refused | undefined =>
  verify(cookie, challenge.nonce, "client", message.proof)
    ? undefined
    : new Refused({ reason: "wrong cookie: the proof does not match this node's cookie" })
