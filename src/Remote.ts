/**
 * Remotable closures and remote spawn: Cloud Haskell's `remotable`, `mkClosure`, `RemoteTable`,
 * `spawn`, `call`.
 *
 * No code travels on the wire: `Remote.define(name, envSchema, body)` registers a body under a name,
 * and a closure is that name plus its environment encoded with `envSchema`. Every node that may run
 * the closure is given the same definitions as a `RemoteTable` layer. An unknown name or an
 * environment that does not decode is a typed `SpawnError`; the remote node keeps running.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Process, Remote } from "cloud-effect"
 *
 * const square = Remote.define("square", Schema.Int, (n) => Effect.succeed(n * n), Schema.Int)
 * export const table = Remote.table(square)
 *
 * // in a process, with `table` provided to both nodes:
 * // const nine = yield* Remote.call(otherNode, square(3))
 * ```
 * @since 0.1.0
 */
import { Effect, Layer, Option, Schema } from "effect"
import {
  CallFailed,
  CallReply,
  Closure,
  type Definition,
  DidSpawn,
  RemoteTable,
  SpawnFailed,
  SpawnRef,
  type TypedClosure
} from "./internal/closure.ts"
import { type CurrentProcess, withProcess, withState } from "./internal/context.ts"
import { type ProcessState, schemaMatcher } from "./internal/node.ts"
import { abandon } from "./internal/requests.ts"
import * as Message from "./Message.ts"
import { NodeId } from "./NodeId.ts"
import { type MonitorRef, NodeMonitorNotification, ProcessMonitorNotification } from "./Notification.ts"
import * as Process from "./Process.ts"
import { type ProcessId, equals as pidEquals } from "./ProcessId.ts"

/**
 * What `define` returns: a closure constructor (Cloud Haskell's `mkClosure`) that is also the
 * definition to put in a `RemoteTable`.
 * @since 0.1.0
 */
export interface Remotable<in Env, out A> extends Definition {
  (env: Env): TypedClosure<A>
}

/**
 * Define a remotable process body under a unique name. Give `result` to make it callable with
 * `call`. The services the body needs (other than `Process`) must be in the context of the nodes
 * that run it.
 * @since 0.1.0
 */
export const define = <Env, EnvI, A, E, R>(
  name: string,
  env: Schema.Codec<Env, EnvI>,
  body: (env: Env) => Effect.Effect<A, E, R>,
  result?: Schema.Codec<A, unknown>
): Remotable<Env, A> => {
  const info = Message.infoOf(env)
  const encode = Schema.encodeSync(info.codec())
  const make = (value: Env): TypedClosure<A> => new Closure({ name, env: encode(value) })
  // a function's own `name` is read-only for Object.assign: define it
  Object.defineProperty(make, "name", { value: name })
  return Object.assign(make, {
    instantiate: (bytes: Uint8Array) =>
      Option.map(
        Schema.decodeUnknownOption(info.codec())(bytes),
        // suspended: a body that throws before returning its effect fails the process, not the node
        (value) => Effect.suspend(() => body(value as Env)) as Effect.Effect<unknown, unknown, CurrentProcess>
      ),
    result: result as Schema.Top | undefined
  }) as unknown as Remotable<Env, A>
}

/**
 * A `RemoteTable` layer with these definitions. Names must be unique.
 * @since 0.1.0
 */
export const table = (...definitions: ReadonlyArray<Definition>): Layer.Layer<RemoteTable> =>
  Layer.succeed(RemoteTable, tableOf(definitions))

/**
 * The definitions as a map (throws on a duplicate name: a programming error).
 * @since 0.1.0
 */
export const tableOf = (definitions: ReadonlyArray<Definition & { readonly name: string }>) => {
  const map = new Map<string, Definition>()
  for (const d of definitions) {
    if (map.has(d.name)) throw new Error(`Remote.table: the name ${JSON.stringify(d.name)} is defined twice`)
    map.set(d.name, d)
  }
  return map as ReadonlyMap<string, Definition>
}

// -----------------------------------------------------------------------------------------------
// errors and replies

/**
 * A remote spawn failed: unknown closure name, an environment that does not decode, or the node
 * could not be reached.
 * @since 0.1.0
 */
export class SpawnError extends Schema.TaggedError<SpawnError>()("SpawnError", {
  node: NodeId,
  closure: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `spawn of ${this.closure} on ${this.node} failed: ${this.reason}`
  }
}

/**
 * A `call` failed: the spawn failed, the body failed or died, or the node was lost.
 * @since 0.1.0
 */
export class CallError extends Schema.TaggedError<CallError>()("CallError", {
  node: NodeId,
  closure: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `call of ${this.closure} on ${this.node} failed: ${this.reason}`
  }
}

// -----------------------------------------------------------------------------------------------
// spawning

export {
  CallFailed,
  CallReply,
  Closure,
  type Definition,
  DidSpawn,
  RemoteTable,
  SpawnFailed,
  SpawnRef,
  type TypedClosure
}

const sameRef = (a: SpawnRef, b: SpawnRef) => a.id === b.id && pidEquals(a.requester, b.requester)

/**
 * Start `closure` on `node` and return at once; a `DidSpawn` (or `SpawnFailed`) with the returned
 * ref arrives in the mailbox.
 * @since 0.1.0
 */
export const spawnAsync = (node: NodeId, closure: Closure): Effect.Effect<SpawnRef, never, CurrentProcess> =>
  withState((s) => {
    const ref = new SpawnRef({ requester: s.self, id: s.nextRef++ })
    s.node.spawnRemote(ref, node, closure, false)
    return ref
  })

/** drop the result of a call given up on, when it comes */
const abandonCall = (s: ProcessState, ref: SpawnRef) =>
  abandon(s, [
    schemaMatcher(CallReply, (m) => sameRef(m.ref, ref)),
    schemaMatcher(CallFailed, (m) => sameRef(m.ref, ref))
  ])

const awaitSpawn = (
  s: ProcessState,
  node: NodeId,
  closure: Closure,
  call: boolean
): Effect.Effect<readonly [SpawnRef, ProcessId], SpawnError, CurrentProcess> =>
  Effect.gen(function* () {
    const nodeRef = s.node.monitorNode(s, node, yield* s.node.reach(node))
    const ref = new SpawnRef({ requester: s.self, id: s.nextRef++ })
    s.node.spawnRemote(ref, node, closure, call)
    const fail = (reason: string) => Effect.fail(new SpawnError({ node, closure: closure.name, reason }))
    const pid = yield* Process.receiveWait(
      Process.matchIf(
        DidSpawn,
        (m) => sameRef(m.ref, ref),
        (m) => Effect.succeed(m.pid)
      ),
      Process.matchIf(
        SpawnFailed,
        (m) => sameRef(m.ref, ref),
        (m) => fail(m.reason)
      ),
      Process.matchIf(
        NodeMonitorNotification,
        (m) => m.ref.id === nodeRef.id && pidEquals(m.ref.watcher, s.self),
        (m) => fail(`node unreachable (${m.reason._tag})`)
      )
    ).pipe(
      // given up (interrupted): the reply is dropped when it comes, and a process started for
      // nobody is killed
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          // (kept by the node, not the process: the caller may end before the reply comes)
          s.node.abandonSpawn(s, ref, "its spawn was interrupted")
          // a call's process may have sent its result before the kill reaches it
          if (call) abandonCall(s, ref)
        })
      ),
      Effect.ensuring(Effect.sync(() => s.node.unmonitor(s, nodeRef)))
    )
    return [ref, pid] as const
  })

/**
 * Start `closure` on `node` and return its pid once the node has started it. If the caller is
 * interrupted first (a timeout), the reply is dropped when it comes and the process it names is
 * killed: no process is left running that nobody knows of.
 * @since 0.1.0
 */
export const spawn = (node: NodeId, closure: Closure): Effect.Effect<ProcessId, SpawnError, CurrentProcess> =>
  withProcess((s) => Effect.map(awaitSpawn(s, node, closure, false), ([, pid]) => pid))

/**
 * Spawn and link the current process to the new one.
 * @since 0.1.0
 */
export const spawnLink = (node: NodeId, closure: Closure): Effect.Effect<ProcessId, SpawnError, CurrentProcess> =>
  withProcess((s) =>
    Effect.map(awaitSpawn(s, node, closure, false), ([, pid]) => {
      s.node.link(s, pid)
      return pid
    })
  )

/**
 * Spawn and monitor the new process.
 * @since 0.1.0
 */
export const spawnMonitor = (
  node: NodeId,
  closure: Closure
): Effect.Effect<readonly [ProcessId, MonitorRef], SpawnError, CurrentProcess> =>
  withProcess((s) =>
    Effect.map(awaitSpawn(s, node, closure, false), ([, pid]) => [pid, s.node.monitor(s, pid)] as const)
  )

/**
 * Run `closure` on `node` and return its result, decoded with the definition's result schema.
 * Interrupting the caller kills the call's process and drops its reply.
 * @since 0.1.0
 */
export const call = <A>(node: NodeId, closure: TypedClosure<A>): Effect.Effect<A, CallError, CurrentProcess> =>
  withProcess((s) =>
    Effect.gen(function* () {
      const fail = (reason: string) => Effect.fail(new CallError({ node, closure: closure.name, reason }))
      const result = s.node.definition(closure.name)?.result
      if (result === undefined) {
        return yield* fail("the closure has no result schema in this node's RemoteTable")
      }
      const [ref, pid] = yield* awaitSpawn(s, node, closure, true).pipe(
        Effect.catchTag("SpawnError", (e) => fail(e.reason))
      )
      const monitorRef = s.node.monitor(s, pid)
      return yield* Process.receiveWait(
        Process.matchIf(
          CallReply,
          (m) => sameRef(m.ref, ref),
          (m) => {
            const decoded = Message.decode(result as Schema.Schema<A>, m.key, m.payload)
            return Option.isSome(decoded) ? Effect.succeed(decoded.value) : fail("the result does not decode")
          }
        ),
        Process.matchIf(
          CallFailed,
          (m) => sameRef(m.ref, ref),
          (m) => fail(m.reason)
        ),
        Process.matchIf(
          ProcessMonitorNotification,
          (m) => m.ref.id === monitorRef.id && pidEquals(m.ref.watcher, s.self),
          (m) => fail(`the process died first (${m.reason._tag})`)
        )
      ).pipe(
        // given up (interrupted): the call's process is killed and a reply it sent is dropped
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            s.node.kill(s.self, pid, "its call was interrupted")
            abandonCall(s, ref)
          })
        ),
        Effect.ensuring(Effect.sync(() => s.node.unmonitor(s, monitorRef)))
      )
    })
  )
