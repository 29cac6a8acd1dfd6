/**
 * Backends: start a master node and its slave nodes, like Cloud Haskell's simplelocalnet
 * (`startMaster`, `findSlaves`). The `Backend` service names the master and the slaves; how the
 * nodes are started is the backend constructor's business.
 *
 * `Backend.workerThreads(n, { module })` runs the master in the main thread and one slave node in each
 * of `n` worker threads. Every node runs the `remoteTable` exported by `module` (a `Layer` made with
 * `Remote.table(...)`), so the master can spawn and call its closures on the slaves.
 *
 * @example
 * ```ts
 * // tasks.ts
 * import { Effect, Schema } from "effect"
 * import { Remote } from "cloud-effect"
 * export const square = Remote.define("square", Schema.Int, (n) => Effect.succeed(n * n), Schema.Int)
 * export const remoteTable = Remote.table(square)
 *
 * // main.ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Backend, Remote } from "cloud-effect"
 * import { square } from "./tasks.ts"
 *
 * const main = Backend.startMaster((slaves) =>
 *   Effect.forEach(slaves, (slave, i) => Remote.call(slave, square(i)), { concurrency: "unbounded" })
 * ).pipe(
 *   Effect.tap((squares) => Effect.log(squares)), // [0, 1, 4, 9]
 *   Effect.provide(Backend.workerThreads(4, { module: new URL("./tasks.ts", import.meta.url) }))
 * )
 * NodeRuntime.runMain(main)
 * ```
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import type { RemoteTable } from "./internal/closure.ts"
import type { CurrentProcess } from "./internal/context.ts"
import type { LocalNode } from "./internal/node.ts"
import { describeDuration, millisOf } from "./internal/timeout.ts"
import { loadRemoteTable } from "./internal/worker.ts"
import * as Node from "./Node.ts"
import * as NodeId from "./NodeId.ts"
import { NodeMonitorNotification } from "./Notification.ts"
import * as Process from "./Process.ts"
import { layerTcp, parseAddress } from "./transport/Tcp.ts"
import { layerWorkerHub, mainAddress, type SpawnOptions, WorkerError, WorkerHub } from "./transport/Worker.ts"

/**
 * The nodes of a backend: the master (the node `startMaster` runs on) and its slaves.
 * @since 0.1.0
 */
export class Backend extends Context.Service<
  Backend,
  {
    readonly master: NodeId.NodeId
    /** the slaves known when the backend started */
    readonly slaves: ReadonlyArray<NodeId.NodeId>
    /** the slaves known now: the started ones plus those that registered since (TCP) */
    readonly findSlaves: Effect.Effect<ReadonlyArray<NodeId.NodeId>>
  }
>()("cloud-effect/Backend") {}

/**
 * A backend could not be started.
 * @since 0.1.0
 */
export class BackendError extends Schema.TaggedError<BackendError>()("BackendError", {
  /** the node (address) that could not be started */
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.address}: ${this.reason}`
  }
}

/**
 * Options for `workerThreads`.
 * @since 0.1.0
 */
export interface WorkerThreadsOptions extends SpawnOptions {}

/**
 * A backend of worker threads: the master node runs in the main thread (`thread:0`) on the worker
 * hub, and each of the `n` slaves in a worker thread of its own (`thread:1` … `thread:n`). Every
 * node gets the `remoteTable` exported by `options.module`. Provides the `Backend`, the master as the
 * current `Node.Node` and the `WorkerHub` (to watch or terminate workers).
 *
 * Fails with a `BackendError` if the module cannot be loaded (in the main thread or a worker) or a
 * worker does not start. Closing the layer's scope closes the master, then asks each worker to close
 * its node (its processes' finalizers run), waits up to `closeTimeout` (5 seconds) and terminates
 * the workers that have not ended.
 * @since 0.1.0
 */
export const workerThreads = (
  n: number,
  options: WorkerThreadsOptions
): Layer.Layer<Backend | Node.Node | WorkerHub, BackendError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const table = yield* loadRemoteTable(options.module).pipe(
        Effect.mapError((reason) => new WorkerError({ address: mainAddress, reason }))
      )
      const hubContext = yield* Layer.build(layerWorkerHub)
      const hub = Context.get(hubContext, WorkerHub)
      const slaves = yield* hub.spawnWorkers(n, options)
      const master = yield* Node.make().pipe(Effect.provideContext(Context.merge(table, hubContext)))
      const slaveIds = slaves.map(NodeId.make)
      return Context.make(Backend, {
        master: master.nodeId,
        slaves: slaveIds,
        findSlaves: Effect.succeed(slaveIds)
      }).pipe(Context.add(Node.Node, master), Context.add(WorkerHub, hub))
    }).pipe(
      Effect.mapError((error) => new BackendError({ address: error.address, reason: error.reason })),
      Effect.withSpan("Backend.workerThreads")
    )
  )

/**
 * The slaves of the backend (Cloud Haskell's `findSlaves`).
 * @since 0.1.0
 */
export const findSlaves: Effect.Effect<ReadonlyArray<NodeId.NodeId>, never, Backend> = Effect.map(
  Effect.service(Backend),
  (backend) => backend.findSlaves
).pipe(Effect.flatten)

/**
 * Wait until the backend knows at least `n` slaves (those it was given plus those that registered
 * with the master, e.g. `cloud-effect slave --master …`) and return them. Fails with a
 * `BackendError` if they are not there within `timeout`, saying how many were (or at once, for an
 * `n` or a `timeout` that makes no sense).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Backend } from "cloud-effect"
 * const slaves = Backend.awaitSlaves(4, { timeout: "30 seconds" })
 * ```
 * @since 0.1.0
 */
export const awaitSlaves = (
  n: number,
  options: { readonly timeout: Duration.Input }
): Effect.Effect<ReadonlyArray<NodeId.NodeId>, BackendError, Backend> =>
  Effect.gen(function* () {
    const backend = yield* Backend
    const invalid = (reason: string) => new BackendError({ address: backend.master.address, reason })
    if (!(Number.isSafeInteger(n) && n >= 0)) return yield* invalid(`awaitSlaves: ${n} slaves is not an integer >= 0`)
    const timeout = millisOf(options.timeout)
    if (!(timeout >= 0))
      return yield* invalid(`awaitSlaves: the timeout ${describeDuration(options.timeout)} is not a duration >= 0`)
    let known: ReadonlyArray<NodeId.NodeId> = []
    return yield* Effect.gen(function* () {
      while (true) {
        known = yield* backend.findSlaves
        if (known.length >= n) return known
        yield* Effect.sleep("50 millis")
      }
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => {
          const seconds = Duration.format(Duration.millis(timeout))
          const which = known.length > 0 ? `: ${known.map((s) => s.address).join(", ")}` : ""
          // a slave refused for its cookie is only in the logs (a warning on both nodes)
          return Effect.fail(
            new BackendError({
              address: backend.master.address,
              reason:
                `timed out after ${seconds} waiting for ${n} slave${n === 1 ? "" : "s"} (${known.length} known${which}); ` +
                "a slave with another cookie is refused, with a warning in both nodes' logs"
            })
          )
        }
      })
    )
  })

/**
 * Run `program` as a process on the master node with the list of slaves, and return its result
 * (Cloud Haskell's `startMaster`). Fails with the program's error, or with `Node.ProcessDied` if the
 * process was stopped from outside.
 * @since 0.1.0
 */
export const startMaster = <A, E, R>(
  program: (slaves: ReadonlyArray<NodeId.NodeId>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | Node.ProcessDied, Backend | Node.Node | Exclude<R, CurrentProcess>> =>
  Effect.flatMap(Effect.service(Backend), (backend) =>
    Effect.flatMap(backend.findSlaves, (slaves) => Node.runProcess(program(slaves)))
  )

// -------------------------------------------------------------------------------------------------
// TCP: nodes in separate OS processes or on other machines

/**
 * Options of a TCP node.
 * @since 0.1.0
 */
export interface TcpNodeOptions {
  /** where to listen: `127.0.0.1` and a port (0 picks a free one) */
  readonly host: string
  readonly port: number
  /** the cluster's shared secret (see `cookie`) */
  readonly cookie: Redacted.Redacted<string>
  /** the host other nodes reach this one at (default: `host`; required when `host` is `0.0.0.0` or `::`) */
  readonly advertiseHost?: string | undefined
  /** the definitions this node runs (tasks, closures) */
  readonly table: Layer.Layer<RemoteTable>
  /** heartbeat settings of the transport */
  readonly heartbeatInterval?: import("effect").Duration.Input | undefined
  readonly heartbeatTimeout?: import("effect").Duration.Input | undefined
}

const tcpNode = (options: TcpNodeOptions) =>
  Node.make().pipe(
    Effect.provide(
      Layer.merge(
        layerTcp({
          host: options.host,
          port: options.port,
          cookie: options.cookie,
          advertiseHost: options.advertiseHost,
          heartbeatInterval: options.heartbeatInterval,
          heartbeatTimeout: options.heartbeatTimeout
        }),
        options.table
      )
    ),
    Effect.mapError((e) => new BackendError({ address: `${options.host}:${options.port}`, reason: e.reason }))
  )

/**
 * A slave node on TCP (Cloud Haskell's `startSlave`): it serves the master's spawns until its scope
 * closes. Its address is `Node.Node`'s `nodeId` (`tcp://host:port`).
 * @since 0.1.0
 */
export const tcpSlave = (
  options: TcpNodeOptions & {
    /** a master to register with (`tcp://host:port`): it finds this slave without a peer list */
    readonly master?: string | undefined
  }
): Layer.Layer<Node.Node, BackendError> =>
  Layer.effect(
    Node.Node,
    Effect.gen(function* () {
      if (options.master !== undefined && parseAddress(options.master) === undefined) {
        return yield* new BackendError({
          address: options.master,
          reason: "not a tcp://host:port address (an IPv6 host goes in brackets: tcp://[::1]:4000)"
        })
      }
      const node = yield* tcpNode(options)
      if (options.master !== undefined) {
        const master = NodeId.make(options.master)
        // say hello now and every few seconds, so a master that starts (or restarts) later finds us
        const hello = Process.nsendRemote(master, registryName, new SlaveHello({ node: node.nodeId })).pipe(
          Effect.andThen(Effect.sleep("2 seconds")),
          Effect.forever
        )
        yield* Effect.forkScoped(Node.runProcess(hello).pipe(Effect.provideService(Node.Node, node)))
      }
      return node
    })
  )

/** the name of the master's slave registry process */
const registryName = "cloud-effect/Backend/slaves"

/** a slave announces itself to a master */
class SlaveHello extends Schema.TaggedClass<SlaveHello>()("cloud-effect/SlaveHello", { node: NodeId.NodeId }) {}

/**
 * A master node on TCP with an explicit list of slaves (`tcp://host:port` addresses). Every slave is
 * contacted first (connection and cookie handshake): an unreachable slave or a wrong cookie is a
 * `BackendError` naming it.
 * @since 0.1.0
 */
export const tcpMaster = (
  options: TcpNodeOptions & {
    /** the slaves to use (`tcp://host:port`); more can register themselves (`tcpSlave({ master })`) */
    readonly slaves: ReadonlyArray<string>
  }
): Layer.Layer<Backend | Node.Node, BackendError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      for (const address of options.slaves) {
        if (parseAddress(address) === undefined) {
          return yield* new BackendError({ address, reason: "not a tcp://host:port address" })
        }
      }
      const master = yield* tcpNode(options)
      const slaves = options.slaves.map(NodeId.make)
      const endpoint = (master as LocalNode).endpoint!
      for (const slave of slaves) {
        yield* endpoint
          .connect(slave.address)
          .pipe(
            Effect.mapError((e) => new BackendError({ address: slave.address, reason: `cannot connect: ${e.reason}` }))
          )
      }
      // slaves that register themselves: kept while their node is reachable
      const registered = new Map<string, NodeId.NodeId>()
      const registry = Effect.gen(function* () {
        yield* Process.register(registryName, yield* Process.self)
        const watched = new Map<number, string>()
        while (true) {
          yield* Process.receiveWait(
            Process.match(SlaveHello, (hello) =>
              Effect.gen(function* () {
                if (registered.has(hello.node.address)) return
                registered.set(hello.node.address, hello.node)
                const ref = yield* Process.monitorNode(hello.node)
                watched.set(ref.id, hello.node.address)
              })
            ),
            Process.match(NodeMonitorNotification, (n) =>
              Effect.sync(() => {
                const address = watched.get(n.ref.id)
                watched.delete(n.ref.id)
                if (address !== undefined) registered.delete(address)
              })
            )
          )
        }
      })
      yield* Effect.forkScoped(Node.runProcess(registry).pipe(Effect.provideService(Node.Node, master)))
      const findSlaves = Effect.sync(() => {
        const all = new Map(slaves.map((s) => [s.address, s] as const))
        for (const [address, node] of registered) all.set(address, node)
        return [...all.values()]
      })
      return Context.make(Backend, { master: master.nodeId, slaves, findSlaves }).pipe(Context.add(Node.Node, master))
    })
  )

/**
 * The cluster cookie: given directly, or read from a file (its first line), or from the
 * `CLOUD_EFFECT_COOKIE` environment variable, in that order.
 * @since 0.1.0
 */
export const cookie = (options: {
  readonly cookie?: string | undefined
  readonly file?: string | undefined
}): Effect.Effect<Redacted.Redacted<string>, BackendError> =>
  Effect.gen(function* () {
    if (options.cookie !== undefined && options.cookie !== "") return Redacted.make(options.cookie)
    if (options.file !== undefined) {
      const file = options.file
      const text = yield* Effect.try({
        try: () => fs.readFileSync(file, "utf8"),
        catch: (e) => new BackendError({ address: file, reason: `cannot read the cookie file: ${String(e)}` })
      })
      const first = text.split(/\r?\n/)[0]?.trim() ?? ""
      if (first === "") return yield* new BackendError({ address: file, reason: "the cookie file is empty" })
      return Redacted.make(first)
    }
    const env = Option.fromNullishOr(process.env.CLOUD_EFFECT_COOKIE).pipe(Option.filter((s) => s !== ""))
    if (Option.isSome(env)) return Redacted.make(env.value)
    return yield* new BackendError({
      address: "cookie",
      reason: "no cookie: pass one, a cookie file, or set CLOUD_EFFECT_COOKIE"
    })
  })
