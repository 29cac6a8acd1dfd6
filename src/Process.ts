/**
 * Processes: fibers with mailboxes. Everything a process does (send, receive, spawn, link, monitor,
 * register) is an effect that needs the current {@link Process} in its context; `Node.runProcess`
 * and the spawn functions provide it.
 *
 * Semantics follow Cloud Haskell's `distributed-process`:
 * - messages from one process to another arrive in the order they were sent;
 * - `expect`/`receiveWait` take the oldest message a matcher accepts and leave the others in order;
 * - `link` is one-way and fires on any exit, normal included; `monitor` delivers exactly one
 *   `ProcessMonitorNotification` (at once, with `DiedUnknownId`, for a pid that is not alive).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node, Process, ProcessId } from "cloud-effect"
 *
 * class Ping extends Schema.TaggedClass<Ping>()("Ping", { from: ProcessId.ProcessId }) {}
 * class Pong extends Schema.TaggedClass<Pong>()("Pong", {}) {}
 *
 * const program = Effect.gen(function*() {
 *   const ponger = yield* Process.spawnLocal(Effect.gen(function*() {
 *     const ping = yield* Process.expect(Ping)
 *     yield* Process.send(ping.from, new Pong())
 *   }))
 *   yield* Process.send(ponger, new Ping({ from: yield* Process.self }))
 *   return yield* Process.expect(Pong)
 * })
 * Effect.runPromise(Node.runProcess(program).pipe(Effect.provide(Node.layer())))
 * ```
 * @since 0.1.0
 */
import { type Duration, Effect, Fiber, Option, Schema } from "effect"
import { ProcessInfo, ProcessInfoReply, RegisterReply, WhereIsReply } from "./internal/closure.ts"
import { CurrentProcess, type ProcessService, withProcess, withState } from "./internal/context.ts"
import { type Entry, type Hit, type Matcher, NoMatch } from "./internal/mailbox.ts"
import { type CatchFrame, type LocalNode, type ProcessState, schemaMatcher } from "./internal/node.ts"
import { abandon } from "./internal/requests.ts"
import { start } from "./internal/spawn.ts"
import { timeoutMillis } from "./internal/timeout.ts"
import * as Message from "./Message.ts"
import type { NodeId } from "./NodeId.ts"
import { type MonitorRef, NodeMonitorNotification, ProcessLinkException } from "./Notification.ts"
import { ProcessId } from "./ProcessId.ts"
import * as Protocol from "./Protocol.ts"

/** @since 0.1.0 */
export type { ProcessService }
export {
  /**
   * The current process: the service every process effect needs.
   * @since 0.1.0
   */
  CurrentProcess as Process
}

// -----------------------------------------------------------------------------------------------
// errors

/**
 * `register` of a name that is taken.
 * @since 0.1.0
 */
export class AlreadyRegistered extends Schema.TaggedError<AlreadyRegistered>()("AlreadyRegistered", {
  name: Schema.String,
  pid: ProcessId
}) {
  override get message(): string {
    return `the name ${JSON.stringify(this.name)} is already registered to ${this.pid}`
  }
}

/**
 * `unregister` (or `reregister`) of a name that is not registered.
 * @since 0.1.0
 */
export class NotRegistered extends Schema.TaggedError<NotRegistered>()("NotRegistered", { name: Schema.String }) {
  override get message(): string {
    return `no process is registered as ${JSON.stringify(this.name)}`
  }
}

/**
 * `register` of a pid that is not alive.
 * @since 0.1.0
 */
export class ProcessNotAlive extends Schema.TaggedError<ProcessNotAlive>()("ProcessNotAlive", { pid: ProcessId }) {
  override get message(): string {
    return `${this.pid} is not alive`
  }
}

// -----------------------------------------------------------------------------------------------
// identity

/**
 * The pid of the current process.
 * @since 0.1.0
 */
export const self: Effect.Effect<ProcessId, never, CurrentProcess> = withState((s) => s.self)

/**
 * The node the current process runs on.
 * @since 0.1.0
 */
export const getSelfNode: Effect.Effect<NodeId, never, CurrentProcess> = withState((s) => s.self.node)

/**
 * Log a message through Effect's Logger, annotated with the current pid.
 * @since 0.1.0
 */
export const say = (message: string): Effect.Effect<void, never, CurrentProcess> =>
  withProcess((s) => Effect.logInfo(message).pipe(Effect.annotateLogs({ pid: String(s.self) })))

// -----------------------------------------------------------------------------------------------
// sending

const invalid = (value: unknown) => {
  const error = Message.validate(value)
  return error === undefined ? undefined : Effect.die(error)
}

/**
 * Send a message. Never blocks and never fails: a message to a dead process is dropped. A value
 * without a schema (a plain object with a `_tag`), or one its schema cannot encode when it goes to
 * another node, is a defect of the sender (`InvalidMessage`): see `Message.Sendable`.
 * @since 0.1.0
 */
export const send = (pid: ProcessId, message: Message.Sendable): Effect.Effect<void, never, CurrentProcess> =>
  withProcess((s) => {
    const bad = invalid(message)
    if (bad !== undefined) return bad
    s.node.send(s.self, pid, message)
    return Effect.void
  })

/**
 * Send a message to the process registered under `name` on this node; dropped if there is none.
 * @since 0.1.0
 */
export const nsend = (name: string, message: Message.Sendable): Effect.Effect<void, never, CurrentProcess> =>
  withProcess((s) => {
    const pid = s.node.registry.get(name)
    return pid === undefined ? Effect.void : send(pid, message)
  })

/**
 * A message taken by `matchAny`: its key, its sender and its value, unread. Read it with
 * {@link unwrapMessage} or pass it on with {@link forward}.
 * @since 0.1.0
 */
export interface AnyMessage {
  readonly key: string
  readonly sender: ProcessId | undefined
  /** @internal */
  readonly value: unknown
  /** @internal */
  readonly payload: Uint8Array | undefined
}

/**
 * Read a message taken by `matchAny` as a value of `schema`.
 * @since 0.1.0
 */
export const unwrapMessage = <A>(message: AnyMessage, schema: Schema.Schema<A>): Option.Option<A> => {
  if (message.payload !== undefined) return Message.decode(schema, message.key, message.payload)
  return Message.infoOf(schema).is(message.value) ? Option.some(message.value as A) : Option.none()
}

/**
 * Send a message taken by `matchAny` on to another process, unchanged.
 * @since 0.1.0
 */
export const forward = (message: AnyMessage, pid: ProcessId): Effect.Effect<void, never, CurrentProcess> =>
  withState((s) => {
    if (message.payload === undefined) {
      s.node.send(message.sender ?? s.self, pid, message.value)
    } else if (s.node.isLocal(pid)) {
      s.node.lookup(pid)?.mailbox.push(message.key, undefined, message.payload, message.sender)
    } else {
      s.node.forwardEncoded(message.sender, pid, message.key, message.payload)
    }
  })

// -----------------------------------------------------------------------------------------------
// receiving

/**
 * One alternative of a `receiveWait`: the messages it accepts and what to do with one.
 * @since 0.1.0
 */
export interface Match<out B, out E = never, out R = never> extends Matcher {
  readonly handler: (value: never) => Effect.Effect<B, E, R>
}

/**
 * Accept the messages `schema` accepts.
 * @since 0.1.0
 */
export const match = <A, B, E = never, R = never>(
  schema: Schema.Schema<A>,
  handler: (message: A) => Effect.Effect<B, E, R>
): Match<B, E, R> => ({ ...schemaMatcher(schema), handler })

/**
 * Accept the messages `schema` accepts and `guard` approves; a message the guard rejects stays in
 * the mailbox, in place.
 * @since 0.1.0
 */
export const matchIf = <A, B, E = never, R = never>(
  schema: Schema.Schema<A>,
  guard: (message: A) => boolean,
  handler: (message: A) => Effect.Effect<B, E, R>
): Match<B, E, R> => ({ ...schemaMatcher(schema, guard), handler })

const anyMatcher: Matcher = {
  keys: undefined,
  test: (entry: Entry): AnyMessage => ({
    key: entry.key,
    sender: entry.sender,
    value: entry.value,
    payload: entry.payload
  })
}

/**
 * Accept any message.
 * @since 0.1.0
 */
export const matchAny = <B, E = never, R = never>(
  handler: (message: AnyMessage) => Effect.Effect<B, E, R>
): Match<B, E, R> => ({ ...anyMatcher, handler })

type MatchResult<M> = M extends Match<infer B, infer _E, infer _R> ? B : never
type MatchError<M> = M extends Match<infer _B, infer E, infer _R> ? E : never
type MatchContext<M> = M extends Match<infer _B, infer _E, infer R> ? R : never

/** take the oldest message any matcher accepts, waiting for one; a timeout loses nothing */
const takeHit = (state: ProcessState, matchers: ReadonlyArray<Matcher>): Effect.Effect<Hit> =>
  Effect.flatMap(state.mailbox.await(matchers), (hit) => {
    if (hit.entry.removed) return takeHit(state, matchers)
    state.mailbox.remove(hit.entry)
    return Effect.succeed(hit)
  })

const receiveHit = (matchers: ReadonlyArray<Matcher>): Effect.Effect<Hit, never, CurrentProcess> =>
  withProcess((s) => {
    const hit = s.mailbox.takeNow(matchers)
    return hit !== undefined ? Effect.succeed(hit) : takeHit(s, matchers)
  })

const receiveHitTimeout = (
  what: string,
  matchers: ReadonlyArray<Matcher>,
  timeout: Duration.Input
): Effect.Effect<Option.Option<Hit>, never, CurrentProcess> =>
  withProcess((s) => {
    const millis = timeoutMillis(what, timeout)
    if (millis instanceof RangeError) return Effect.die(millis)
    const hit = s.mailbox.takeNow(matchers)
    if (hit !== undefined) return Effect.succeed(Option.some(hit))
    if (millis === 0) return Effect.succeed(Option.none())
    return Effect.timeoutOption(takeHit(s, matchers), millis)
  })

const runHandler = (matches: ReadonlyArray<Match<unknown, unknown, unknown>>, hit: Hit) =>
  matches[hit.index]!.handler(hit.value as never)

/**
 * Wait for the oldest message that any of the matches accepts, and run the first match (in list
 * order) that accepts it.
 * @since 0.1.0
 */
export const receiveWait = <const M extends ReadonlyArray<Match<unknown, unknown, unknown>>>(
  ...matches: M
): Effect.Effect<MatchResult<M[number]>, MatchError<M[number]>, MatchContext<M[number]> | CurrentProcess> =>
  Effect.flatMap(receiveHit(matches), (hit) => runHandler(matches, hit)) as never

/**
 * `receiveWait` with a timeout (`0`, or less, polls): `None` if no message was accepted in time. A
 * timeout that is NaN or not a duration is a defect.
 * @since 0.1.0
 */
export const receiveTimeout = <const M extends ReadonlyArray<Match<unknown, unknown, unknown>>>(
  timeout: Duration.Input,
  ...matches: M
): Effect.Effect<
  Option.Option<MatchResult<M[number]>>,
  MatchError<M[number]>,
  MatchContext<M[number]> | CurrentProcess
> =>
  Effect.flatMap(receiveHitTimeout("receiveTimeout", matches, timeout), (hit) =>
    Option.isNone(hit) ? Effect.succeed(Option.none()) : Effect.map(runHandler(matches, hit.value), Option.some)
  ) as never

const matchers = new WeakMap<object, ReadonlyArray<Matcher>>()
const matchersOf = (schema: Schema.Top): ReadonlyArray<Matcher> => {
  let m = matchers.get(schema)
  if (m === undefined) {
    m = [schemaMatcher(schema as Schema.Schema<unknown>)]
    matchers.set(schema, m)
  }
  return m
}

/**
 * Wait for the oldest message that `schema` accepts.
 * @since 0.1.0
 */
export const expect = <A>(schema: Schema.Schema<A>): Effect.Effect<A, never, CurrentProcess> =>
  withProcess((s) => {
    const matchers = matchersOf(schema)
    const hit = s.mailbox.takeNow(matchers)
    if (hit !== undefined) return Effect.succeed(hit.value as A)
    return Effect.map(takeHit(s, matchers), (h) => h.value as A)
  })

/**
 * `expect` with a timeout (`0`, or less, polls; NaN or not a duration is a defect).
 * @since 0.1.0
 */
export const expectTimeout = <A>(
  schema: Schema.Schema<A>,
  timeout: Duration.Input
): Effect.Effect<Option.Option<A>, never, CurrentProcess> =>
  Effect.map(
    receiveHitTimeout("expectTimeout", matchersOf(schema), timeout),
    Option.map((hit) => hit.value as A)
  )

// -----------------------------------------------------------------------------------------------
// spawning

/**
 * Start a process on this node running `process`; returns its pid at once.
 * @since 0.1.0
 */
export const spawnLocal = <A, E, R>(
  process: Effect.Effect<A, E, R>
): Effect.Effect<ProcessId, never, CurrentProcess | Exclude<R, CurrentProcess>> =>
  withProcess((s) => Effect.map(start(s.node, process), ([child]) => child.self))

/**
 * Start a process and link the current process to it (the current process dies when it ends).
 * @since 0.1.0
 */
export const spawnLink = <A, E, R>(
  process: Effect.Effect<A, E, R>
): Effect.Effect<ProcessId, never, CurrentProcess | Exclude<R, CurrentProcess>> =>
  withProcess((s) =>
    Effect.map(
      start(s.node, process, (child) => s.node.link(s, child.self)),
      ([child]) => child.self
    )
  )

/**
 * Start a process and monitor it.
 * @since 0.1.0
 */
export const spawnMonitor = <A, E, R>(
  process: Effect.Effect<A, E, R>
): Effect.Effect<readonly [ProcessId, MonitorRef], never, CurrentProcess | Exclude<R, CurrentProcess>> =>
  withProcess((s) => {
    let ref: MonitorRef | undefined
    return Effect.map(
      start(s.node, process, (child) => {
        ref = s.node.monitor(s, child.self)
      }),
      ([child]) => [child.self, ref!] as const
    )
  })

// -----------------------------------------------------------------------------------------------
// links and monitors

/**
 * Link the current process to `pid`: when `pid` ends, for any reason, the current process is
 * interrupted and dies with a `ProcessLinkException`. One-way, as in Cloud Haskell.
 * @since 0.1.0
 */
export const link = (pid: ProcessId): Effect.Effect<void, never, CurrentProcess> =>
  withProcess((s) => {
    const before = s.signal
    s.node.link(s, pid)
    // linking to a dead pid interrupts at once: let the interruption happen here
    return before === undefined && s.signal !== undefined ? Effect.interrupt : Effect.void
  })

/**
 * Remove a link.
 * @since 0.1.0
 */
export const unlink = (pid: ProcessId): Effect.Effect<void, never, CurrentProcess> =>
  withState((s) => s.node.unlink(s, pid))

/**
 * Monitor `pid`: exactly one `ProcessMonitorNotification` arrives when it dies (at once, with
 * `DiedUnknownId`, if it is not alive).
 * @since 0.1.0
 */
export const monitor = (pid: ProcessId): Effect.Effect<MonitorRef, never, CurrentProcess> =>
  withState((s) => s.node.monitor(s, pid))

/**
 * Remove a monitor (of a process or a node). No notification for it is seen afterwards, not even
 * one that had already arrived.
 * @since 0.1.0
 */
export const unmonitor = (ref: MonitorRef): Effect.Effect<void, never, CurrentProcess> =>
  withState((s) => s.node.unmonitor(s, ref))

/**
 * Monitor a node: a `NodeMonitorNotification` arrives when the connection to it is lost
 * (`DiedDisconnect`) or it shuts down (`DiedNodeDown`: it tells every node that monitors it, or
 * that it exchanged messages with, as it closes).
 * @since 0.1.0
 */
export const monitorNode = (node: NodeId): Effect.Effect<MonitorRef, never, CurrentProcess> =>
  withProcess((s) => Effect.map(s.node.reach(node), (reachable) => s.node.monitorNode(s, node, reachable)))

// -----------------------------------------------------------------------------------------------
// exit signals

/**
 * Send an exit signal: `pid` dies with `DiedException` unless it is inside a `catchExit` whose
 * schema accepts `reason`.
 * @since 0.1.0
 */
export const exit = (pid: ProcessId, reason: Message.Sendable): Effect.Effect<void, never, CurrentProcess> =>
  withProcess((s) => {
    const bad = invalid(reason)
    if (bad !== undefined) return bad
    const before = s.signal
    s.node.exit(s.self, pid, reason)
    // an exit to oneself takes effect here; an exit to another process never interrupts the caller
    // (nor a process already stopping, e.g. in a finalizer: its finalizers run to the end)
    return before === undefined && s.signal !== undefined ? Effect.interrupt : Effect.void
  })

/**
 * Kill `pid`: it dies with `DiedException("killed-by=…,reason=…")`. Not catchable.
 * @since 0.1.0
 */
export const kill = (pid: ProcessId, reason: string): Effect.Effect<void, never, CurrentProcess> =>
  withProcess((s) => {
    const before = s.signal
    s.node.kill(s.self, pid, reason)
    // killing oneself takes effect here; a kill of another process never interrupts the caller
    return before === undefined && s.signal !== undefined ? Effect.interrupt : Effect.void
  })

/**
 * Terminate the current process with `reason` (an exit signal to itself: `catchExit` can catch it).
 * @since 0.1.0
 */
export const die = (reason: Message.Sendable): Effect.Effect<never, never, CurrentProcess> =>
  withProcess((s) => Effect.andThen(exit(s.self, reason), Effect.never))

/**
 * Run `body`; if an exit signal whose reason `schema` accepts arrives meanwhile, `body` is
 * interrupted and `handler(from, reason)` runs instead.
 * @since 0.1.0
 */
export const catchExit = <A, E, R, R2, B, E2, R3>(
  body: Effect.Effect<A, E, R>,
  schema: Schema.Schema<R2>,
  handler: (from: ProcessId, reason: R2) => Effect.Effect<B, E2, R3>
): Effect.Effect<A | B, E | E2, R | R3 | CurrentProcess> =>
  withProcess((s) => {
    const matcher = schemaMatcher(schema)
    const frame: CatchFrame = {
      accepts: (key, value, payload) => {
        if (matcher.keys !== undefined && !matcher.keys.has(key)) return NoMatch
        return matcher.test({ key, value, payload } as Entry)
      },
      fiber: undefined,
      caught: undefined
    }
    return Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(body)
      frame.fiber = fiber as Fiber.Fiber<unknown, unknown>
      s.catchFrames.push(frame)
      const result = yield* Fiber.await(fiber).pipe(
        Effect.onInterrupt(() => Fiber.interrupt(fiber)),
        Effect.ensuring(
          Effect.sync(() => {
            const i = s.catchFrames.indexOf(frame)
            if (i >= 0) s.catchFrames.splice(i, 1)
          })
        )
      )
      if (frame.caught !== undefined) return yield* handler(frame.caught.from, frame.caught.reason as R2)
      return yield* result
    })
  })

// -----------------------------------------------------------------------------------------------
// registry

/**
 * Register `pid` under `name` on this node. Fails with `AlreadyRegistered` if the name is taken and
 * with `ProcessNotAlive` if the pid is not alive. The name is removed when the process dies.
 *
 * The pid may be on another node: the registry then monitors it, and `register` waits until that
 * node has said the pid is alive (a dead pid, or one whose node cannot be reached, is
 * `ProcessNotAlive`, and the name is not kept). `unregister`, or registering the name to another
 * pid, removes the monitor. (Cloud Haskell's `register` accepts any remote pid; here a dead one is
 * refused, as a dead local one is.)
 * @since 0.1.0
 */
export const register = (
  name: string,
  pid: ProcessId
): Effect.Effect<void, AlreadyRegistered | ProcessNotAlive, CurrentProcess> =>
  withProcess((s) => registerWith(s.node, name, pid, false) as Effect.Effect<void, AlreadyRegistered | ProcessNotAlive>)

/**
 * Register `pid` under `name`, replacing the process registered there. Fails if the name is not
 * registered or the pid is not alive (a remote pid is checked as by `register`).
 * @since 0.1.0
 */
export const reregister = (
  name: string,
  pid: ProcessId
): Effect.Effect<void, NotRegistered | ProcessNotAlive, CurrentProcess> =>
  withProcess((s) => registerWith(s.node, name, pid, true) as Effect.Effect<void, NotRegistered | ProcessNotAlive>)

const registerWith = (
  node: LocalNode,
  name: string,
  pid: ProcessId,
  replace: boolean
): Effect.Effect<void, AlreadyRegistered | NotRegistered | ProcessNotAlive> =>
  Effect.callback<void, AlreadyRegistered | NotRegistered | ProcessNotAlive>((resume) => {
    const existing = node.registry.get(name)
    node.registerName(name, pid, replace, (error) => {
      switch (error) {
        case "taken":
          return resume(Effect.fail(new AlreadyRegistered({ name, pid: existing! })))
        case "missing":
          return resume(Effect.fail(new NotRegistered({ name })))
        case "dead":
          return resume(Effect.fail(new ProcessNotAlive({ pid })))
        case undefined:
          return resume(Effect.void)
      }
    })
  })

/**
 * Remove a name (and, for a remote pid, the registry's monitor of it). Fails if it is not
 * registered.
 * @since 0.1.0
 */
export const unregister = (name: string): Effect.Effect<void, NotRegistered, CurrentProcess> =>
  withProcess((s) => (s.node.unregisterName(name) ? Effect.void : Effect.fail(new NotRegistered({ name }))))

/**
 * The pid registered under `name` on this node.
 * @since 0.1.0
 */
export const whereis = (name: string): Effect.Effect<Option.Option<ProcessId>, never, CurrentProcess> =>
  withState((s) => Option.fromNullishOr(s.node.registry.get(name)))

// -----------------------------------------------------------------------------------------------
// introspection

/**
 * Information about a live process, on this node or another; `None` for a dead pid (or when its
 * node cannot be reached). Interrupted while waiting for another node's answer (a timeout), it
 * leaves nothing in the mailbox: the late answer is dropped.
 * @since 0.1.0
 */
export const getProcessInfo = (pid: ProcessId): Effect.Effect<Option.Option<ProcessInfo>, never, CurrentProcess> =>
  withProcess((s) => {
    if (s.node.isLocal(pid)) return Effect.succeed(Option.fromNullishOr(s.node.infoOf(pid)))
    return Effect.gen(function* () {
      const nodeRef = s.node.monitorNode(s, pid.node, yield* s.node.reach(pid.node))
      const id = s.nextRef++
      s.node.request(pid.node, new Protocol.GetInfo({ requester: s.self, id, pid }))
      return yield* receiveWait(
        matchIf(
          ProcessInfoReply,
          (r) => r.id === id,
          (r) => Effect.succeed(Option.fromNullishOr(r.info))
        ),
        matchIf(
          NodeMonitorNotification,
          (n) => n.ref.id === nodeRef.id,
          () => Effect.succeed(Option.none<ProcessInfo>())
        )
      ).pipe(
        // given up (interrupted): the reply is dropped when it comes
        Effect.onInterrupt(() => Effect.sync(() => abandon(s, [schemaMatcher(ProcessInfoReply, (r) => r.id === id)]))),
        Effect.ensuring(Effect.sync(() => s.node.unmonitor(s, nodeRef)))
      )
    })
  })

// -----------------------------------------------------------------------------------------------
// the registries of other nodes

/**
 * Ask `node` for the pid registered as `name`; a `WhereIsReply` arrives in the mailbox.
 * @since 0.1.0
 */
export const whereisRemoteAsync = (node: NodeId, name: string): Effect.Effect<void, never, CurrentProcess> =>
  withState((s) => s.node.request(node, new Protocol.WhereIs({ requester: s.self, name })))

/**
 * Ask `node` to register `pid` as `name`; a `RegisterReply` arrives in the mailbox (`error` is
 * `"taken"` or `"dead"` when it failed; a pid on a third node is checked as by `register`).
 * @since 0.1.0
 */
export const registerRemoteAsync = (
  node: NodeId,
  name: string,
  pid: ProcessId
): Effect.Effect<void, never, CurrentProcess> =>
  withState((s) => s.node.request(node, new Protocol.Register({ requester: s.self, name, pid })))

/**
 * Send a message to the process registered as `name` on `node`; dropped if there is none.
 * @since 0.1.0
 */
export const nsendRemote = (
  node: NodeId,
  name: string,
  message: Message.Sendable
): Effect.Effect<void, never, CurrentProcess> =>
  withProcess((s) => {
    const bad = invalid(message)
    if (bad !== undefined) return bad
    s.node.request(
      node,
      new Protocol.NSend({ name, from: s.self, key: Message.keyOf(message), payload: Message.encode(message) })
    )
    return Effect.void
  })

export { ProcessInfo, ProcessLinkException, RegisterReply, WhereIsReply }
