/**
 * The worker-thread transport: one node per thread of this process. The main thread's endpoint is
 * `thread:0`; worker `i` is `thread:i` (indices are never reused). The main thread is the hub: a
 * worker posts every frame to it and it delivers frames for `thread:0` to its own endpoint and
 * forwards the others, so frames between two threads stay in order (each hop is FIFO). Frame
 * buffers are transferred, not copied (a frame that is a view into a larger buffer is sliced first).
 *
 * A worker thread runs `internal/worker-entry.ts`: it imports the module it was given, builds the
 * `remoteTable` layer that module exports (a `Layer` made with `Remote.table(...)`, possibly merged
 * with other services the closures need), starts a node on its `thread:i` endpoint and serves until
 * its scope on the main thread closes. A worker that crashes or exits is a node that disconnects:
 * the main endpoint and every other worker see `ConnectionLost(thread:i)`, so monitors of its
 * processes fire `DiedDisconnect` everywhere. Sends to a worker that is gone are dropped and answered
 * with `ConnectionLost`. A worker's node logs through the main thread: each entry at or above the
 * main thread's minimum log level (read when the hub is built) is emitted by the hub layer's loggers,
 * with the worker's annotations (`node: "thread:i"`, a process's `pid`). It crosses as text: its
 * messages, annotation values and cause are formatted in the worker, its log spans are dropped, and
 * the main thread stamps it with its own time.
 *
 * Most programs use `Backend.workerThreads` instead of this module.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Transport } from "cloud-effect"
 * const program = Effect.gen(function*() {
 *   const hub = yield* Transport.WorkerHub
 *   // two threads running ./tasks.ts's `remoteTable`; they end with this scope
 *   const workers = yield* hub.spawnWorkers(2, { module: new URL("./tasks.ts", import.meta.url) })
 *   const master = yield* Node.make() // thread:0, on the hub
 *   return [master.nodeId.address, ...workers] // ["thread:0", "thread:1", "thread:2"]
 * }).pipe(Effect.scoped, Effect.provide(Transport.layerWorkerHub))
 * ```
 * @since 0.1.0
 */
import * as WT from "node:worker_threads"
import { Context, Duration, Effect, Layer, type LogLevel, References, Schema, type Scope } from "effect"
import { siblingModule } from "../internal/sibling.ts"
import { describeDuration, millisOf } from "../internal/timeout.ts"
import {
  type Batch,
  describe,
  type LogRecord,
  moduleHref,
  Outbox,
  type ToMain,
  type ToWorker,
  tagOf,
  type WorkerData
} from "../internal/worker.ts"
import { type EndPoint, Transport, TransportError, type TransportEvent } from "../Transport.ts"

/**
 * The main thread's address on the worker hub.
 * @since 0.1.0
 */
export const mainAddress = "thread:0"

/**
 * A worker thread could not be started: its module failed to load or has no usable `remoteTable`,
 * the thread died before it was ready, or it was not ready in time.
 * @since 0.1.0
 */
export class WorkerError extends Schema.TaggedError<WorkerError>()("WorkerError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.address}: ${this.reason}`
  }
}

/**
 * Options for `WorkerHub.spawnWorkers`.
 * @since 0.1.0
 */
export interface SpawnOptions {
  /**
   * The module whose `remoteTable` export the workers run: a `file:` URL (e.g.
   * `new URL("./tasks.ts", import.meta.url)`), or a path (absolute, or relative to the working
   * directory).
   */
  readonly module: URL | string
  /** how long a worker may take to load its module and start its node (default 30 seconds) */
  readonly startTimeout?: Duration.Input | undefined
  /** how long a worker may take to end after it is asked to, before it is terminated (default 5 seconds) */
  readonly closeTimeout?: Duration.Input | undefined
  /** V8 heap limits for each worker */
  readonly resourceLimits?: WT.ResourceLimits | undefined
  /** Node options for each worker (default: the main thread's `process.execArgv`) */
  readonly execArgv?: ReadonlyArray<string> | undefined
}

/**
 * The worker threads of the hub.
 * @since 0.1.0
 */
export class WorkerHub extends Context.Service<
  WorkerHub,
  {
    /**
     * Start `n` worker threads, each running a node with the `remoteTable` of `options.module`, and
     * return their addresses once every one is ready. Fails (and ends the ones that started) if one
     * cannot start. Closing the scope asks every worker to close its node (its processes'
     * finalizers run), waits up to `closeTimeout`, then terminates the stragglers.
     */
    readonly spawnWorkers: (
      n: number,
      options: SpawnOptions
    ) => Effect.Effect<ReadonlyArray<string>, WorkerError, Scope.Scope>
    /** the addresses of the worker threads that have not exited */
    readonly workers: () => ReadonlyArray<string>
    /**
     * End a worker thread at once (`worker.terminate()`), as a crash would: its processes' finalizers
     * do not run and the other nodes see the connection lost. For fault injection in tests.
     */
    readonly terminate: (address: string) => Effect.Effect<void>
  }
>()("cloud-effect/transport/Worker/WorkerHub") {}

// -----------------------------------------------------------------------------------------------
// the main thread: the hub

interface Slot {
  readonly address: string
  readonly worker: WT.Worker
  readonly outbox: Outbox<ToWorker>
  /** builds a frame from this worker */
  readonly frameFrom: (bytes: Uint8Array<ArrayBuffer>) => ToWorker
  state: "starting" | "ready" | "exited"
  /** asked to close (or terminated): its exit is expected */
  closing: boolean
  /** why it could not start (a Failed message or an error event) */
  failure: string | undefined
  readonly readyWaiters: Set<(error: WorkerError | undefined) => void>
  readonly exitWaiters: Set<() => void>
}

interface MainBinding {
  readonly handler: (event: TransportEvent) => void
}

/**
 * The hub of the main thread. `log` emits an entry through the main thread's loggers: the hub's own
 * warnings and the entries its workers forward (a worker logs nothing below `logLevel`).
 */
const makeHub = (
  log: (
    level: LogLevel.Severity,
    message: ReadonlyArray<string>,
    annotations: Readonly<Record<string, string>>
  ) => void,
  logLevel: LogLevel.LogLevel
) => {
  const warn = (message: string) => log("Warn", [message], { node: mainAddress })
  const slots = new Map<string, Slot>()
  const all = new Set<Slot>()
  let main: MainBinding | undefined
  let next = 1
  const entry = siblingModule(import.meta.url, "../internal/worker-entry")

  const frameFrom =
    (from: string) =>
    (bytes: Uint8Array<ArrayBuffer>): ToWorker => ({ _tag: "cloud-effect/Frame", from, bytes })
  const frameFromMain = frameFrom(mainAddress)

  /** a frame from `from` (a worker) to `to` */
  const route = (from: Slot, to: string, bytes: Uint8Array): void => {
    if (to === mainAddress) {
      if (main !== undefined) main.handler({ _tag: "Received", from: from.address, bytes })
      else from.outbox.push({ _tag: "cloud-effect/Lost", peer: to })
      return
    }
    const target = slots.get(to)
    if (target === undefined || !target.outbox.frame(from.frameFrom, bytes)) {
      from.outbox.push({ _tag: "cloud-effect/Lost", peer: to })
    }
  }

  const reachable = (to: string): boolean => (to === mainAddress ? main !== undefined : slots.has(to))

  const settleReady = (slot: Slot, error: WorkerError | undefined): void => {
    for (const waiter of slot.readyWaiters) waiter(error)
    slot.readyWaiters.clear()
  }

  const onMessage = (slot: Slot) => {
    const handle = (message: unknown): void => {
      switch (tagOf(message)) {
        case "cloud-effect/Batch": {
          for (const m of (message as Batch<ToMain>).messages) handle(m)
          return
        }
        case "cloud-effect/Frame": {
          const m = message as Extract<ToMain, { readonly _tag: "cloud-effect/Frame" }>
          route(slot, m.to, m.bytes)
          return
        }
        case "cloud-effect/Ready": {
          if (slot.state !== "starting") return
          slot.state = "ready"
          settleReady(slot, undefined)
          return
        }
        case "cloud-effect/Failed": {
          const reason = (message as Extract<ToMain, { readonly _tag: "cloud-effect/Failed" }>).reason
          slot.failure ??= reason
          settleReady(slot, new WorkerError({ address: slot.address, reason }))
          return
        }
        case "cloud-effect/Connect": {
          const m = message as Extract<ToMain, { readonly _tag: "cloud-effect/Connect" }>
          slot.outbox.push({ _tag: "cloud-effect/Connected", id: m.id, ok: reachable(m.to) })
          return
        }
        case "cloud-effect/Log": {
          const m = message as LogRecord
          log(m.level, m.message, m.annotations)
          return
        }
      }
    }
    return handle
  }

  const onExit = (slot: Slot) => (code: number) => {
    const wasReady = slot.state === "ready"
    slot.state = "exited"
    slots.delete(slot.address)
    all.delete(slot)
    slot.worker.removeAllListeners()
    settleReady(
      slot,
      new WorkerError({
        address: slot.address,
        reason: slot.failure ?? `the thread exited with code ${code} before it was ready`
      })
    )
    for (const waiter of slot.exitWaiters) waiter()
    slot.exitWaiters.clear()
    if (!wasReady) return
    if (!slot.closing) warn(`worker ${slot.address} exited with code ${code}`)
    // a node that disconnects: everyone that may know it sees the connection lost
    main?.handler({ _tag: "ConnectionLost", peer: slot.address })
    for (const other of slots.values()) other.outbox.push({ _tag: "cloud-effect/Lost", peer: slot.address })
  }

  const start = (href: string, options: SpawnOptions): Slot => {
    const address = `thread:${next++}`
    const data: WorkerData = { address, module: href, logLevel }
    const worker = new WT.Worker(entry, {
      workerData: data,
      name: address,
      ...(options.resourceLimits !== undefined ? { resourceLimits: options.resourceLimits } : {}),
      ...(options.execArgv !== undefined ? { execArgv: [...options.execArgv] } : {})
    })
    const slot: Slot = {
      address,
      worker,
      outbox: new Outbox(worker),
      frameFrom: frameFrom(address),
      state: "starting",
      closing: false,
      failure: undefined,
      readyWaiters: new Set(),
      exitWaiters: new Set()
    }
    slots.set(address, slot)
    all.add(slot)
    worker.on("message", onMessage(slot))
    worker.on("error", (error: unknown) => {
      slot.failure ??= `the thread failed: ${describe(error)}`
      if (slot.state === "ready") warn(`worker ${address} failed: ${describe(error)}`)
    })
    worker.on("messageerror", (error: unknown) => warn(`a message from worker ${address} could not be read: ${error}`))
    worker.on("exit", onExit(slot))
    return slot
  }

  const awaitReady = (slot: Slot): Effect.Effect<void, WorkerError> =>
    Effect.callback<void, WorkerError>((resume) => {
      if (slot.state === "ready") return resume(Effect.void)
      if (slot.state === "exited" || slot.failure !== undefined) {
        return resume(
          Effect.fail(new WorkerError({ address: slot.address, reason: slot.failure ?? "the thread exited" }))
        )
      }
      const waiter = (error: WorkerError | undefined) => resume(error === undefined ? Effect.void : Effect.fail(error))
      slot.readyWaiters.add(waiter)
      return Effect.sync(() => {
        slot.readyWaiters.delete(waiter)
      })
    })

  const awaitExit = (slot: Slot): Effect.Effect<void> =>
    Effect.callback<void>((resume) => {
      if (slot.state === "exited") return resume(Effect.void)
      const waiter = () => resume(Effect.void)
      slot.exitWaiters.add(waiter)
      return Effect.sync(() => {
        slot.exitWaiters.delete(waiter)
      })
    })

  const terminateSlot = (slot: Slot): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (slot.state === "exited") return Effect.void
      slot.closing = true
      slot.worker.terminate().catch(() => undefined)
      return awaitExit(slot).pipe(Effect.timeoutOrElse({ duration: "2 seconds", orElse: () => Effect.void }))
    })

  const closeSlots = (group: ReadonlyArray<Slot>, timeout: Duration.Input): Effect.Effect<void> =>
    Effect.suspend(() => {
      const live = group.filter((s) => s.state !== "exited")
      for (const slot of live) {
        slot.closing = true
        slot.outbox.push({ _tag: "cloud-effect/Close" })
      }
      return Effect.forEach(
        live,
        (slot) => awaitExit(slot).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => terminateSlot(slot) })),
        { concurrency: "unbounded", discard: true }
      )
    })

  const spawnWorkers = (
    n: number,
    options: SpawnOptions
  ): Effect.Effect<ReadonlyArray<string>, WorkerError, Scope.Scope> =>
    Effect.gen(function* () {
      if (!Number.isInteger(n) || n < 0) {
        return yield* new WorkerError({ address: mainAddress, reason: `cannot start ${n} workers` })
      }
      const startMillis = millisOf(options.startTimeout ?? "30 seconds")
      const closeMillis = millisOf(options.closeTimeout ?? "5 seconds")
      for (const [name, millis, given] of [
        ["startTimeout", startMillis, options.startTimeout],
        ["closeTimeout", closeMillis, options.closeTimeout]
      ] as const) {
        if (!(millis >= 0)) {
          const reason = `${name} ${describeDuration(given)}: expected a duration >= 0`
          return yield* new WorkerError({ address: mainAddress, reason })
        }
      }
      const href = moduleHref(options.module)
      const group: Array<Slot> = []
      const close = Effect.suspend(() => closeSlots(group, closeMillis))
      yield* Effect.addFinalizer(() => close)
      for (let i = 0; i < n; i++) {
        group.push(
          yield* Effect.try({
            try: () => start(href, options),
            catch: (error) =>
              new WorkerError({ address: `thread:${next}`, reason: `cannot start a thread: ${describe(error)}` })
          })
        )
      }
      yield* Effect.forEach(
        group,
        (slot) =>
          awaitReady(slot).pipe(
            Effect.timeoutOrElse({
              duration: startMillis,
              orElse: () =>
                Effect.fail(
                  new WorkerError({
                    address: slot.address,
                    reason: `not ready after ${Duration.format(Duration.millis(startMillis))}`
                  })
                )
            })
          ),
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.onError(() => close))
      return group.map((s) => s.address)
    })

  const mainEndpoint = (binding: MainBinding): EndPoint => ({
    address: mainAddress,
    send: (to, bytes) => {
      if (to === mainAddress) {
        queueMicrotask(() => {
          if (main === binding) binding.handler({ _tag: "Received", from: mainAddress, bytes })
        })
        return
      }
      const target = slots.get(to)
      if (target?.outbox.frame(frameFromMain, bytes)) return
      queueMicrotask(() => {
        if (main === binding) binding.handler({ _tag: "ConnectionLost", peer: to })
      })
    },
    connect: (to) =>
      reachable(to) ? Effect.void : Effect.fail(new TransportError({ address: to, reason: "no such worker thread" }))
  })

  const bind = (_options: unknown, handler: (event: TransportEvent) => void) =>
    Effect.acquireRelease(
      Effect.suspend(() => {
        if (main !== undefined) {
          return Effect.fail(new TransportError({ address: mainAddress, reason: "address already bound" }))
        }
        const binding: MainBinding = { handler }
        main = binding
        return Effect.succeed([mainEndpoint(binding), binding] as const)
      }),
      ([, binding]) =>
        Effect.sync(() => {
          if (main !== binding) return
          main = undefined
          for (const slot of slots.values()) slot.outbox.push({ _tag: "cloud-effect/Lost", peer: mainAddress })
        })
    ).pipe(Effect.map(([endpoint]) => endpoint))

  const hub = WorkerHub.of({
    spawnWorkers,
    workers: () => [...slots.keys()],
    terminate: (address) =>
      Effect.suspend(() => {
        const slot = slots.get(address)
        return slot === undefined ? Effect.void : terminateSlot(slot)
      })
  })
  // when the hub's scope closes, no thread outlives it
  const shutdown = Effect.suspend(() => closeSlots([...all], "1 second"))
  return { transport: Transport.of({ bind }), hub, shutdown }
}

/**
 * The worker hub of the main thread: provides `Transport` (its one endpoint is `thread:0`) and the
 * `WorkerHub` that starts worker threads. Closing the layer's scope ends every worker still running.
 * @since 0.1.0
 */
export const layerWorkerHub: Layer.Layer<Transport | WorkerHub> = Layer.effectContext(
  Effect.gen(function* () {
    const context = yield* Effect.context<never>()
    const runFork = Effect.runForkWith(context)
    const { transport, hub, shutdown } = makeHub(
      (level, message, annotations) => {
        runFork(Effect.logWithLevel(level)(...message).pipe(Effect.annotateLogs(annotations)))
      },
      yield* References.MinimumLogLevel
    )
    yield* Effect.addFinalizer(() => shutdown)
    return Context.make(Transport, transport).pipe(Context.add(WorkerHub, hub))
  })
)
