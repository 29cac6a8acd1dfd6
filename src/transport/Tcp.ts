/**
 * The TCP transport: nodes in different processes or on different machines, on effect's socket
 * modules and `@effect/platform-node`.
 *
 * Every endpoint listens on `host:port` (port 0 picks a free port) and is reached at
 * `tcp://host:port`. Connections are per direction: an endpoint opens one connection to each peer it
 * sends to and only writes on it (frames for one peer stay in order), and only reads the connections
 * peers open to it. Each new connection starts with an HMAC challenge-response over the shared
 * cookie; idle connections carry heartbeats, and a connection silent for `heartbeatTimeout` is closed
 * and reported lost. Frames are length-prefixed and limited to `maxFrameSize`; a frame over the
 * limit, garbage or a failed handshake closes only that connection, with a log line.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "cloud-effect"
 * import { layerTcp } from "cloud-effect/transport/Tcp"
 * const main = Effect.gen(function*() {
 *   const node = yield* Node.make()
 *   yield* Effect.log(`listening at ${node.nodeId.address}`) // e.g. tcp://127.0.0.1:40123
 * }).pipe(Effect.scoped, Effect.provide(layerTcp({ host: "127.0.0.1", port: 0, cookie: "secret" })))
 * ```
 * @since 0.1.0
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import { Array as Arr, Deferred, type Duration, Effect, Exit, FiberSet, Layer, Option, Redacted, Schema } from "effect"
import { Socket } from "effect/socket"
import * as Framing from "../internal/framing.ts"
import * as Handshake from "../internal/handshake.ts"
import { isWildcard, normalHost } from "../internal/host.ts"
import { describeDuration, millisOf } from "../internal/timeout.ts"
import { type EndPoint, Transport, TransportError, type TransportEvent } from "../Transport.ts"

/**
 * Options of the TCP transport.
 * @since 0.1.0
 */
export interface TcpOptions {
  /** the interface to listen on, e.g. `127.0.0.1`, or `0.0.0.0` with an `advertiseHost` */
  readonly host: string
  /** the port to listen on; 0 picks a free port */
  readonly port: number
  /** the shared secret every node of the cluster must know */
  readonly cookie: string | Redacted.Redacted<string>
  /** the host other nodes reach this one at (default: `host`; required when `host` is `0.0.0.0` or `::`) */
  readonly advertiseHost?: string | undefined
  /** the largest frame accepted, in bytes (default 16 MiB; at least 1 KiB; at most 4 GiB) */
  readonly maxFrameSize?: number | undefined
  /** an idle connection sends a heartbeat this often (default 1 second) */
  readonly heartbeatInterval?: Duration.Input | undefined
  /**
   * a connection that received nothing for this long is closed and reported lost (default 5
   * seconds; above `heartbeatInterval`, or `Infinity`: never)
   */
  readonly heartbeatTimeout?: Duration.Input | undefined
  /** the limit for opening a connection, and again for its handshake (default 5 seconds; `Infinity`: none) */
  readonly connectTimeout?: Duration.Input | undefined
}

const SUPERSEDED = "replaced by a newer connection from the same peer"

/** how long closing an endpoint waits for queued frames to be written */
const LINGER_MILLIS = 1000

interface Config {
  readonly host: string
  readonly port: number
  readonly advertiseHost: string
  readonly cookie: Handshake.CookieKey
  readonly maxFrameSize: number
  readonly heartbeatInterval: number
  readonly heartbeatTimeout: number
  readonly connectTimeout: number
}

/** the smallest `maxFrameSize`: below it not even the handshake fits */
const MIN_FRAME_SIZE = 1024

/**
 * The options, checked: a value that makes no sense (a port out of range, a duration of 0 or NaN, a
 * heartbeat timeout not above the interval, an empty cookie, an address peers cannot be given) is a
 * `TransportError` when the endpoint is bound, not a defect or a transport that misbehaves.
 */
const configOf = (options: TcpOptions): Effect.Effect<Config, TransportError> =>
  Effect.suspend(() => {
    const { host, port } = options
    const invalid = (reason: string) => Effect.fail(new TransportError({ address: formatAddress(host, port), reason }))
    if (!(Number.isSafeInteger(port) && port >= 0 && port <= 65535)) {
      return invalid(`port ${port}: expected an integer from 0 to 65535`)
    }
    const advertiseHost = options.advertiseHost ?? host
    if (options.advertiseHost === undefined && isWildcard(host)) {
      return invalid(`listening on every interface (${JSON.stringify(host)}): give advertiseHost, the host peers reach`)
    }
    if (normalHost(advertiseHost) === undefined || isWildcard(advertiseHost)) {
      return invalid(
        `${JSON.stringify(advertiseHost)} cannot be given to peers: expected a host name or an IP address (no port)`
      )
    }
    const cookie = typeof options.cookie === "string" ? options.cookie : Redacted.value(options.cookie)
    if (cookie.trim() === "") return invalid("the cookie is empty")
    const maxFrameSize = options.maxFrameSize ?? 16 * 1024 * 1024
    if (!(maxFrameSize >= MIN_FRAME_SIZE && (Number.isSafeInteger(maxFrameSize) || maxFrameSize === Infinity))) {
      return invalid(`maxFrameSize ${maxFrameSize}: expected a number of bytes >= ${MIN_FRAME_SIZE}`)
    }
    /** milliseconds > 0 (Infinity: never), or what is wrong */
    const millis = (name: string, input: Duration.Input | undefined, byDefault: Duration.Input) => {
      const ms = millisOf(input ?? byDefault)
      return ms > 0 ? ms : `${name} ${describeDuration(input)}: expected a duration > 0`
    }
    const heartbeatInterval = millis("heartbeatInterval", options.heartbeatInterval, "1 second")
    const heartbeatTimeout = millis("heartbeatTimeout", options.heartbeatTimeout, "5 seconds")
    const connectTimeout = millis("connectTimeout", options.connectTimeout, "5 seconds")
    if (typeof heartbeatInterval === "string") return invalid(heartbeatInterval)
    if (typeof heartbeatTimeout === "string") return invalid(heartbeatTimeout)
    if (typeof connectTimeout === "string") return invalid(connectTimeout)
    if (heartbeatTimeout !== Infinity && heartbeatTimeout <= heartbeatInterval) {
      const given = (input: Duration.Input | undefined) => (input === undefined ? " (the default)" : "")
      return invalid(
        `heartbeatTimeout ${heartbeatTimeout} ms${given(options.heartbeatTimeout)} must be above heartbeatInterval ` +
          `${heartbeatInterval} ms${given(options.heartbeatInterval)}`
      )
    }
    return Effect.succeed({
      host,
      port,
      advertiseHost,
      cookie: Handshake.cookieKey(cookie),
      maxFrameSize: Math.min(maxFrameSize, Framing.MAX_LENGTH),
      heartbeatInterval,
      heartbeatTimeout,
      connectTimeout
    })
  })

/**
 * The address of a TCP endpoint: `tcp://host:port` (`tcp://[::1]:port` for IPv6).
 * @since 0.1.0
 */
export const formatAddress = (host: string, port: number): string =>
  host.includes(":") ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`

/**
 * Parse a `tcp://host:port` address.
 * @since 0.1.0
 */
export const parseAddress = (address: string): { readonly host: string; readonly port: number } | undefined => {
  const match = /^tcp:\/\/(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})$/.exec(address)
  if (match === null) return undefined
  const port = Number(match[3])
  if (port < 1 || port > 65535) return undefined
  return { host: match[1] ?? match[2]!, port }
}

/** Why a connection is being closed; `warn` marks protocol violations and failed handshakes. */
class Closed extends Schema.TaggedError<Closed>()("Closed", { reason: Schema.String, warn: Schema.Boolean }) {}

const describeCause = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const describeSocketError = (error: Socket.SocketError): string => {
  const reason = error.reason
  switch (reason._tag) {
    case "SocketCloseError":
      return `closed (${reason.code})`
    case "SocketOpenError":
      return reason.kind === "Timeout" ? "connect timeout" : describeCause(reason.cause)
    case "SocketReadError":
    case "SocketWriteError":
      return describeCause(reason.cause)
    case "SocketUpgradeError":
      return reason.message
  }
}

const writeFailed = (error: Socket.SocketError) =>
  new Closed({ reason: `write failed: ${describeSocketError(error)}`, warn: false })

/** the sentinel a writer turns into a heartbeat frame */
const HEARTBEAT = new Uint8Array(0)
const HEARTBEAT_FRAME = Framing.encodeFrame(Handshake.FrameType.Heartbeat, new Uint8Array(0))
const frameTypeOf = (payload: Uint8Array): number =>
  payload === HEARTBEAT ? Handshake.FrameType.Heartbeat : Handshake.FrameType.Data

const handshakeFrame = (message: Handshake.Message) =>
  Framing.encodeFrame(Handshake.FrameType.Handshake, Handshake.encode(message))

/**
 * The frames queued for one outgoing connection. `send` appends; the connection's writer takes
 * everything queued at once and writes it as one batch.
 */
class Outbox {
  private items: Array<Uint8Array> = []
  private waiter: (() => void) | undefined = undefined
  closed = false

  get size(): number {
    return this.items.length
  }

  push(bytes: Uint8Array): void {
    if (this.closed) return
    this.items.push(bytes)
    this.wake()
  }

  /** no more frames: the writer ends once it has written what is queued */
  close(): void {
    this.closed = true
    this.wake()
  }

  /** drop what is queued */
  clear(): void {
    this.items = []
  }

  /** everything queued (waiting for at least one frame), or `undefined` once closed and empty */
  readonly take: Effect.Effect<Array<Uint8Array> | undefined> = Effect.suspend(
    (): Effect.Effect<Array<Uint8Array> | undefined> => {
      const now = this.takeNow()
      if (now !== null) return Effect.succeed(now)
      return Effect.callback<Array<Uint8Array> | undefined>((resume) => {
        this.waiter = () => {
          this.waiter = undefined
          // the writer runs on the microtask queue, not inside the sender's `send`: the frames
          // queued in this turn of the event loop go out in one write, and none waits for the
          // next turn (on TCP, 72 against 78 µs per round trip, measured side by side)
          queueMicrotask(() => resume(this.take))
        }
        return Effect.sync(() => {
          this.waiter = undefined
        })
      })
    }
  )

  private takeNow(): Array<Uint8Array> | undefined | null {
    if (this.items.length > 0) {
      const out = this.items
      this.items = []
      return out
    }
    return this.closed ? undefined : null
  }

  private wake(): void {
    this.waiter?.()
  }
}

type Mode = "handshake" | "data" | "control"

/**
 * The reading side of one connection: the frame decoder, the handshake inbox, and what to do with
 * frames once the handshake is over (`data`: deliver them; `control`: heartbeats only).
 */
class Conn {
  readonly pull: Effect.Effect<Arr.NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError>
  readonly decoder = new Framing.FrameDecoder(Handshake.MAX_HANDSHAKE_FRAME)
  readonly maxFrameSize: number
  readonly deliver: (bytes: Uint8Array) => void
  mode: Mode = "handshake"
  /** frames received during the handshake, not yet looked at */
  private early: Array<readonly [number, Uint8Array]> = []
  private violation: string | undefined = undefined
  /** set when the connection is being closed from outside: nothing more is delivered */
  private stopped: string | undefined = undefined
  lastSeen = Date.now()

  constructor(
    pull: Effect.Effect<Arr.NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError>,
    maxFrameSize: number,
    deliver: (bytes: Uint8Array) => void
  ) {
    this.pull = pull
    this.maxFrameSize = maxFrameSize
    this.deliver = deliver
    this.pullOnce = pull.pipe(
      Effect.mapError((error) => this.readClosed(error)),
      Effect.flatMap((chunks) => {
        const closed = this.feed(chunks)
        return closed === undefined ? Effect.void : Effect.fail(closed)
      })
    )
    this.readLoop = Effect.forever(this.pullOnce)
  }

  private readonly onFrame = (type: number, payload: Uint8Array): void => {
    if (this.violation !== undefined || this.stopped !== undefined) return
    if (this.mode === "handshake") this.early.push([type, payload])
    else this.dispatch(type, payload)
  }

  private dispatch(type: number, payload: Uint8Array): void {
    switch (type) {
      case Handshake.FrameType.Data:
        if (this.mode === "data") this.deliver(payload)
        else this.violation = "a data frame on a connection this node opened"
        return
      case Handshake.FrameType.Heartbeat:
        return
      case Handshake.FrameType.Handshake:
        this.violation = "a handshake message after the handshake"
        return
      default:
        this.violation = `a frame of unknown type ${type}`
    }
  }

  private feed(chunks: Arr.NonEmptyReadonlyArray<Uint8Array>): Closed | undefined {
    if (this.stopped !== undefined) return new Closed({ reason: this.stopped, warn: false })
    this.lastSeen = Date.now()
    for (let i = 0; i < chunks.length; i++) {
      const error = this.decoder.push(chunks[i]!, this.onFrame)
      if (error !== undefined) {
        const when = this.mode === "handshake" ? " before the handshake" : ""
        return new Closed({ reason: `${Framing.describeFrameError(error)}${when}`, warn: true })
      }
      if (this.violation !== undefined) return new Closed({ reason: this.violation, warn: true })
    }
    return undefined
  }

  private readClosed(error: Socket.SocketError): Closed {
    const truncated = this.decoder.end()
    if (truncated !== undefined) {
      return new Closed({
        reason: `the peer closed the connection inside a frame (${Framing.describeFrameError(truncated)})`,
        warn: true
      })
    }
    if (this.mode === "handshake") {
      return new Closed({ reason: `closed during the handshake: ${describeSocketError(error)}`, warn: true })
    }
    return new Closed({
      reason: error.reason._tag === "SocketCloseError" ? "closed by the peer" : describeSocketError(error),
      warn: false
    })
  }

  /** read one batch of chunks */
  readonly pullOnce: Effect.Effect<void, Closed>

  /** the next handshake message */
  readonly nextHandshake: Effect.Effect<Handshake.Message, Closed> = Effect.suspend(() => {
    const next = this.early.shift()
    if (next === undefined) return Effect.andThen(this.pullOnce, this.nextHandshake)
    const [type, payload] = next
    if (type === Handshake.FrameType.Data) {
      return Effect.fail(new Closed({ reason: "a data frame before the handshake", warn: true }))
    }
    if (type !== Handshake.FrameType.Handshake) {
      return Effect.fail(new Closed({ reason: `a frame of type ${type} before the handshake`, warn: true }))
    }
    const message = Handshake.decode(payload)
    return message === undefined
      ? Effect.fail(new Closed({ reason: "a malformed handshake message", warn: true }))
      : Effect.succeed(message)
  })

  /** deliver nothing more, from now on (the reading fiber is stopped separately) */
  stop(reason: string): void {
    this.stopped ??= reason
  }

  /** the handshake is over: raise the frame limit and handle what came after it */
  open(mode: "data" | "control"): Closed | undefined {
    this.mode = mode
    this.decoder.maxFrameSize = this.maxFrameSize
    const early = this.early
    this.early = []
    for (const [type, payload] of early) this.onFrame(type, payload)
    return this.violation === undefined ? undefined : new Closed({ reason: this.violation, warn: true })
  }

  /** read until the connection fails */
  readonly readLoop: Effect.Effect<never, Closed>

  /** fail when nothing was received for `timeout` ms */
  watchdog(timeout: number): Effect.Effect<never, Closed> {
    const check: Effect.Effect<never, Closed> = Effect.suspend(() => {
      const idle = Date.now() - this.lastSeen
      return idle >= timeout
        ? Effect.fail(new Closed({ reason: `nothing received for ${idle} ms (heartbeat timeout)`, warn: true }))
        : Effect.andThen(Effect.sleep(timeout - idle), check)
    })
    return check
  }
}

interface Outgoing {
  readonly peer: string
  readonly outbox: Outbox
  /** done when the handshake succeeded, failed when the connection ended before */
  readonly ready: Deferred.Deferred<void, TransportError>
  /** done when the connection's fiber has ended */
  readonly done: Deferred.Deferred<void>
  lastWrite: number
  failure: string | undefined
}

interface Incoming {
  readonly conn: Conn
  /**
   * completed, with the reason, when this endpoint closes the connection: a newer connection from
   * the same peer replaced it, or this endpoint could not connect back to the peer (the loss is
   * reported then, not again when the connection ends)
   */
  readonly closedHere: Deferred.Deferred<string>
}

const bindEndpoint = Effect.fnUntraced(function* (config: Config, handler: (event: TransportEvent) => void) {
  const server = yield* NodeSocketServer.make({ host: config.host, port: config.port, noDelay: true }).pipe(
    Effect.mapError(
      (error) =>
        new TransportError({
          address: formatAddress(config.host, config.port),
          reason: `cannot listen: ${describeCause(error.reason.cause)}`
        })
    )
  )
  const port = "port" in server.address ? server.address.port : config.port
  const address = formatAddress(config.advertiseHost, port)
  return yield* Effect.gen(function* () {
    const runFork = yield* FiberSet.makeRuntime<never>()
    const outgoing = new Map<string, Outgoing>()
    const incoming = new Map<string, Incoming>()
    /** when a peer's connection was last closed because this endpoint could not connect back to it */
    const warnedBack = new Map<string, number>()
    let closing = false

    const emit = (event: TransportEvent): void => {
      if (closing) return
      try {
        handler(event)
      } catch (error) {
        runFork(Effect.logError(`tcp: the endpoint's handler threw: ${describeCause(error)}`))
      }
    }

    const logClosed = (what: string, closed: Closed) => {
      const message = `tcp: closed the connection ${what}: ${closed.reason}`
      return closed.warn ? Effect.logWarning(message) : Effect.logDebug(message)
    }

    const write = (writer: Socket.Writer, bytes: Uint8Array) => Effect.mapError(writer.write(bytes), writeFailed)

    const refuse = (writer: Socket.Writer, reason: string) =>
      Effect.andThen(
        Effect.ignore(write(writer, handshakeFrame(new Handshake.Refused({ reason })))),
        Effect.fail(new Closed({ reason, warn: true }))
      )

    const withHandshakeTimeout = <A>(effect: Effect.Effect<A, Closed>) =>
      Effect.timeoutOrElse(effect, {
        duration: config.connectTimeout,
        orElse: () => Effect.fail(new Closed({ reason: "handshake timeout", warn: true }))
      })

    // ---------------------------------------------------------------------------------------------
    // outgoing connections: written, read only for the handshake and heartbeats

    const handshakeOut = Effect.fnUntraced(function* (conn: Conn, writer: Socket.Writer) {
      const { hello, nonce } = Handshake.hello(address)
      yield* write(writer, handshakeFrame(hello))
      const challenge = yield* conn.nextHandshake
      if (challenge._tag === "Refused") {
        return yield* new Closed({ reason: `the peer refused the handshake: ${challenge.reason}`, warn: true })
      }
      if (challenge._tag !== "Challenge") return yield* refuse(writer, `expected Challenge, got ${challenge._tag}`)
      const answer = Handshake.answerChallenge(config.cookie, nonce, challenge)
      if (answer._tag === "Refused") return yield* refuse(writer, answer.reason)
      yield* write(writer, handshakeFrame(answer))
      const accepted = yield* conn.nextHandshake
      if (accepted._tag === "Refused") {
        return yield* new Closed({ reason: `the peer refused the handshake: ${accepted.reason}`, warn: true })
      }
      if (accepted._tag !== "Accepted") return yield* refuse(writer, `expected Accepted, got ${accepted._tag}`)
    })

    const writerLoop = (out: Outgoing, writer: Socket.Writer): Effect.Effect<void, Closed> => {
      const loop: Effect.Effect<void, Closed> = Effect.flatMap(out.outbox.take, (batch) => {
        if (batch === undefined) return Effect.void
        out.lastWrite = Date.now()
        const chunks = Framing.encodeFrames(batch, frameTypeOf)
        if (!Arr.isReadonlyArrayNonEmpty(chunks)) return loop
        return Effect.andThen(Effect.mapError(writer.writeAll(chunks), writeFailed), loop)
      })
      return loop
    }

    const heartbeatOut = (out: Outgoing): Effect.Effect<never> => {
      const beat: Effect.Effect<never> = Effect.suspend(() => {
        const idle = Date.now() - out.lastWrite
        if (idle < config.heartbeatInterval) return Effect.andThen(Effect.sleep(config.heartbeatInterval - idle), beat)
        if (out.outbox.size === 0) out.outbox.push(HEARTBEAT)
        return Effect.andThen(Effect.sleep(config.heartbeatInterval), beat)
      })
      return beat
    }

    const lostOutgoing = (out: Outgoing) =>
      Effect.sync(() => {
        if (outgoing.get(out.peer) === out) outgoing.delete(out.peer)
        // a peer this endpoint could not connect back to (say it advertises an address that cannot
        // be reached from here) is disconnected both ways: its connection here is closed too, so it
        // hears of the loss. Otherwise a peer waiting for an answer (a spawn's, a call's) would wait
        // for ever: its own connection is fine, and the answer is dropped here.
        const back = closing || Deferred.isDoneUnsafe(out.ready) ? undefined : incoming.get(out.peer)
        if (back !== undefined) {
          const reason = `cannot connect back to it: ${out.failure ?? "the connection closed"}`
          back.conn.stop(reason)
          Deferred.doneUnsafe(back.closedHere, Exit.succeed(reason))
          // a misconfiguration (an address the peer advertises that cannot be reached from here):
          // said once a minute per peer, not at every reconnection
          const now = Date.now()
          if ((warnedBack.get(out.peer) ?? -Infinity) < now - 60_000) {
            warnedBack.set(out.peer, now)
            runFork(Effect.logWarning(`tcp: closed the connection from ${out.peer}: ${reason}`))
          }
        }
        out.outbox.close()
        out.outbox.clear()
        // the handler hears of the loss before a `connect` waiting on this connection fails
        emit({ _tag: "ConnectionLost", peer: out.peer })
        Deferred.doneUnsafe(
          out.ready,
          Exit.fail(new TransportError({ address: out.peer, reason: out.failure ?? "the connection closed" }))
        )
        Deferred.doneUnsafe(out.done, Exit.void)
      })

    const runOutgoing = (out: Outgoing): Effect.Effect<void> =>
      Effect.gen(function* () {
        // events are never emitted from inside `send`
        yield* Effect.yieldNow
        const target = parseAddress(out.peer)
        if (target === undefined) return yield* new Closed({ reason: "not a tcp://host:port address", warn: true })
        const socket = yield* NodeSocket.makeNet({
          host: target.host,
          port: target.port,
          noDelay: true,
          openTimeout: config.connectTimeout
        })
        const pull = yield* Socket.readerBytes(socket).pipe(
          Effect.mapError(
            (error) => new Closed({ reason: `cannot connect: ${describeSocketError(error)}`, warn: false })
          )
        )
        const writer = yield* socket.writer
        const conn = new Conn(pull, config.maxFrameSize, () => {})
        yield* withHandshakeTimeout(handshakeOut(conn, writer))
        const violation = conn.open("control")
        if (violation !== undefined) return yield* violation
        Deferred.doneUnsafe(out.ready, Exit.void)
        yield* Effect.raceAllFirst([
          writerLoop(out, writer),
          heartbeatOut(out),
          conn.readLoop,
          conn.watchdog(config.heartbeatTimeout)
        ])
      }).pipe(
        Effect.scoped,
        Effect.catch((closed) => {
          out.failure = closed.reason
          return logClosed(`to ${out.peer}`, closed)
        }),
        Effect.ensuring(lostOutgoing(out))
      )

    const outgoingTo = (peer: string): Outgoing => {
      let out = outgoing.get(peer)
      if (out === undefined) {
        out = {
          peer,
          outbox: new Outbox(),
          ready: Deferred.makeUnsafe<void, TransportError>(),
          done: Deferred.makeUnsafe<void>(),
          lastWrite: Date.now(),
          failure: undefined
        }
        outgoing.set(peer, out)
        runFork(runOutgoing(out))
      }
      return out
    }

    // ---------------------------------------------------------------------------------------------
    // incoming connections: read, written only for the handshake and heartbeats

    const handshakeIn = Effect.fnUntraced(function* (
      conn: Conn,
      writer: Socket.Writer,
      announce: (peer: string) => void
    ) {
      const hello = yield* conn.nextHandshake
      if (hello._tag !== "Hello") return yield* refuse(writer, `expected Hello, got ${hello._tag}`)
      announce(hello.address)
      const challenge = Handshake.answerHello(config.cookie, hello)
      yield* write(writer, handshakeFrame(challenge))
      if (challenge._tag === "Refused") return yield* new Closed({ reason: challenge.reason, warn: true })
      const proof = yield* conn.nextHandshake
      if (proof._tag === "Refused") {
        return yield* new Closed({ reason: `the peer refused the handshake: ${proof.reason}`, warn: true })
      }
      if (proof._tag !== "Proof") return yield* refuse(writer, `expected Proof, got ${proof._tag}`)
      const refused = Handshake.checkProof(config.cookie, challenge, proof)
      if (refused !== undefined) return yield* refuse(writer, refused.reason)
      yield* write(writer, handshakeFrame(new Handshake.Accepted({})))
      return hello.address
    })

    const heartbeatIn = (writer: Socket.Writer): Effect.Effect<never, Closed> =>
      Effect.forever(Effect.andThen(Effect.sleep(config.heartbeatInterval), write(writer, HEARTBEAT_FRAME)))

    const accept = (socket: Socket.Socket): Effect.Effect<void> => {
      let label = "an unknown peer"
      let peer = ""
      let registered: Incoming | undefined
      return Effect.gen(function* () {
        const net = yield* Effect.serviceOption(NodeSocket.NetSocket)
        const remote = Option.isSome(net) ? `${net.value.remoteAddress}:${net.value.remotePort}` : "an unknown peer"
        label = remote
        const pull = yield* Socket.readerBytes(socket).pipe(
          Effect.mapError((error) => new Closed({ reason: describeSocketError(error), warn: false }))
        )
        const writer = yield* socket.writer
        const conn = new Conn(pull, config.maxFrameSize, (bytes) => emit({ _tag: "Received", from: peer, bytes }))
        peer = yield* withHandshakeTimeout(
          handshakeIn(conn, writer, (announced) => {
            label = `${announced} (${remote})`
          })
        )
        // a newer connection from the same peer: the older one is lost (what it still holds is
        // dropped, never delivered after the new connection's frames), and reported so first
        const me: Incoming = { conn, closedHere: Deferred.makeUnsafe<string>() }
        const previous = incoming.get(peer)
        incoming.set(peer, me)
        registered = me
        if (previous !== undefined) {
          previous.conn.stop(SUPERSEDED)
          // (unless it was closed here already, and its loss reported then)
          if (Deferred.doneUnsafe(previous.closedHere, Exit.succeed(SUPERSEDED))) emit({ _tag: "ConnectionLost", peer })
        }
        const violation = conn.open("data")
        if (violation !== undefined) return yield* violation
        yield* Effect.raceAllFirst([
          conn.readLoop,
          conn.watchdog(config.heartbeatTimeout),
          heartbeatIn(writer),
          Effect.flatMap(Deferred.await(me.closedHere), (reason) => Effect.fail(new Closed({ reason, warn: false })))
        ])
      }).pipe(
        Effect.scoped,
        Effect.catch((closed) => logClosed(`from ${label}`, closed)),
        Effect.ensuring(
          Effect.sync(() => {
            if (registered === undefined) return
            if (incoming.get(peer) === registered) incoming.delete(peer)
            if (!Deferred.isDoneUnsafe(registered.closedHere)) emit({ _tag: "ConnectionLost", peer })
          })
        )
      )
    }

    // ---------------------------------------------------------------------------------------------

    yield* Effect.forkScoped(
      server
        .run(accept)
        .pipe(Effect.catch((error) => Effect.logError(`tcp: the server failed: ${describeCause(error.reason.cause)}`)))
    )
    // runs first when the scope closes: write what is queued (e.g. a node's goodbye), then stop
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closing = true
        const writers = [...outgoing.values()]
        for (const out of writers) out.outbox.close()
        return Effect.forEach(writers, (out) => Deferred.await(out.done), { discard: true }).pipe(
          Effect.timeoutOption(LINGER_MILLIS),
          Effect.asVoid
        )
      })
    )

    const endpoint: EndPoint = {
      address,
      send: (to, bytes) => {
        if (!closing) outgoingTo(to).outbox.push(bytes)
      },
      connect: (to) =>
        Effect.suspend(() =>
          closing
            ? Effect.fail(new TransportError({ address: to, reason: "the endpoint is closed" }))
            : Deferred.await(outgoingTo(to).ready)
        )
    }
    return endpoint
  }).pipe(Effect.annotateLogs({ endpoint: address }))
})

/**
 * A TCP transport service. Its `bind` listens on `options.host:options.port`; an endpoint's
 * address is `tcp://host:port` with the port actually bound. Options that make no sense (see
 * `TcpOptions`) fail `bind` with a `TransportError` before anything listens.
 * @since 0.1.0
 */
export const make = (options: TcpOptions): Effect.Effect<Transport["Service"]> =>
  Effect.sync(() =>
    Transport.of({
      bind: (_options, handler) => Effect.flatMap(configOf(options), (config) => bindEndpoint(config, handler))
    })
  )

/**
 * The TCP transport as a layer.
 * @since 0.1.0
 */
export const layerTcp = (options: TcpOptions): Layer.Layer<Transport> => Layer.effect(Transport, make(options))
