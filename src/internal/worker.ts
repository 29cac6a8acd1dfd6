/**
 * The worker-thread transport's wire: the messages between the main thread (the hub, in
 * `transport/Worker.ts`) and a worker, the per-tick outbox both sides post through, the loading of
 * a worker's `remoteTable` module, and the worker side of the transport (used by `worker-entry.ts`).
 * @internal
 */
import { resolve as resolvePath } from "node:path"
import { pathToFileURL } from "node:url"
import type * as WT from "node:worker_threads"
import { Cause, Context, Effect, Formatter, Layer, Logger, LogLevel, Option, References, type Scope } from "effect"
import { type EndPoint, Transport, TransportError, type TransportEvent } from "../Transport.ts"
import { RemoteTable } from "./closure.ts"

// -----------------------------------------------------------------------------------------------
// the messages between the main thread and a worker (control messages are told apart by _tag)
/**
 * Messages posted to one port in the same tick travel as one `Batch` (in order).
 */
export interface Batch<M> {
  readonly _tag: "cloud-effect/Batch"
  readonly messages: ReadonlyArray<M>
}

/** what a worker posts to the main thread */
export type ToMain =
  | { readonly _tag: "cloud-effect/Frame"; readonly to: string; readonly bytes: Uint8Array }
  | { readonly _tag: "cloud-effect/Ready" }
  | { readonly _tag: "cloud-effect/Failed"; readonly reason: string }
  | { readonly _tag: "cloud-effect/Connect"; readonly id: number; readonly to: string }
  | LogRecord

/** a log entry of a worker's node: the main thread emits it through its own loggers */
export interface LogRecord {
  readonly _tag: "cloud-effect/Log"
  readonly level: LogLevel.Severity
  /** the messages, and the cause when there is one, as text */
  readonly message: ReadonlyArray<string>
  readonly annotations: Readonly<Record<string, string>>
}

/** what the main thread posts to a worker */
export type ToWorker =
  | { readonly _tag: "cloud-effect/Frame"; readonly from: string; readonly bytes: Uint8Array }
  | { readonly _tag: "cloud-effect/Lost"; readonly peer: string }
  | { readonly _tag: "cloud-effect/Connected"; readonly id: number; readonly ok: boolean }
  | { readonly _tag: "cloud-effect/Close" }

/** the `workerData` of a worker thread */
export interface WorkerData {
  readonly address: string
  readonly module: string
  /** the main thread's minimum log level: the worker forwards no entry below it */
  readonly logLevel: LogLevel.LogLevel
}

const logLevels: ReadonlySet<unknown> = new Set(LogLevel.values)

export const isWorkerData = (u: unknown): u is WorkerData =>
  typeof u === "object" &&
  u !== null &&
  typeof (u as { readonly address?: unknown }).address === "string" &&
  typeof (u as { readonly module?: unknown }).module === "string" &&
  logLevels.has((u as { readonly logLevel?: unknown }).logLevel)

const text = (value: unknown): string => (typeof value === "string" ? value : Formatter.format(value))

/** a logger that posts each entry as a `LogRecord` (a worker's only logger) */
const forwardingLogger = (post: (record: LogRecord) => void) =>
  Logger.make<unknown, void>(({ cause, fiber, logLevel, message }) => {
    if (logLevel === "All" || logLevel === "None") return
    const messages = (Array.isArray(message) ? message : [message]).map(text)
    if (cause.reasons.length > 0) messages.push(Cause.pretty(cause))
    const annotations: Record<string, string> = {}
    for (const [key, value] of Object.entries(fiber.getRef(References.CurrentLogAnnotations))) {
      annotations[key] = text(value)
    }
    post({ _tag: "cloud-effect/Log", level: logLevel, message: messages, annotations })
  })

export const tagOf = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const tag = (u as { readonly _tag?: unknown })._tag
  return typeof tag === "string" ? tag : undefined
}

interface Poster {
  postMessage(value: unknown, transferList?: ReadonlyArray<WT.TransferListItem>): void
}

const isDetached = (buffer: ArrayBuffer): boolean => (buffer as { readonly detached?: boolean }).detached === true

/** bytes that own their whole (non-shared) buffer, so the buffer can be transferred */
const owned = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes as Uint8Array<ArrayBuffer>)
    : bytes.slice()

/**
 * The messages for one port: everything posted in the same tick goes as one `postMessage` (a
 * `Batch` when there are several), in order, with the frames' buffers transferred.
 */
export class Outbox<M extends { readonly _tag: string }> {
  private messages: Array<M> = []
  private transfer: Array<ArrayBuffer> = []
  private readonly buffers = new Set<ArrayBuffer>()
  private scheduled = false
  private readonly target: Poster

  constructor(target: Poster) {
    this.target = target
  }

  /** queue a frame; false if its bytes cannot be sent (a detached buffer) */
  frame(make: (bytes: Uint8Array<ArrayBuffer>) => M, bytes: Uint8Array): boolean {
    let own = owned(bytes)
    if (isDetached(own.buffer)) return false
    // the same buffer twice in one transfer list is an error: copy the second
    if (this.buffers.has(own.buffer)) own = own.slice()
    this.buffers.add(own.buffer)
    this.transfer.push(own.buffer)
    this.push(make(own))
    return true
  }

  push(message: M): void {
    this.messages.push(message)
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.flush)
    }
  }

  private readonly flush = (): void => {
    const messages = this.messages
    const transfer = this.transfer
    this.messages = []
    this.transfer = []
    this.buffers.clear()
    this.scheduled = false
    if (messages.length === 0) return
    try {
      if (messages.length === 1) this.target.postMessage(messages[0], transfer)
      else this.target.postMessage({ _tag: "cloud-effect/Batch", messages } satisfies Batch<M>, transfer)
    } catch {
      // the port is closed: whatever it was for is gone (and seen as a lost connection)
    }
  }
}

export const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Resolve a module option to the URL string a worker (and the main thread) imports.
 */
export const moduleHref = (module: URL | string): string => {
  if (module instanceof URL) return module.href
  return /^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)
    ? module
    : pathToFileURL(resolvePath(module)).href
}

/**
 * Import `module` and build the `remoteTable` layer it exports (in the current scope); fails with
 * the reason it cannot (the caller names the thread).
 */
export const loadRemoteTable = (
  module: URL | string
): Effect.Effect<Context.Context<RemoteTable>, string, Scope.Scope> => {
  const href = moduleHref(module)
  const fail = (reason: string) => `module ${href}: ${reason}`
  return Effect.tryPromise({
    try: (): Promise<unknown> => import(href),
    catch: (error) => fail(`cannot be loaded: ${describe(error)}`)
  }).pipe(
    Effect.flatMap((mod) => {
      const layer = (mod as { readonly remoteTable?: unknown }).remoteTable
      if (!Layer.isLayer(layer)) {
        return Effect.fail(fail("does not export `remoteTable` (a Layer made with Remote.table(...))"))
      }
      return Layer.build(layer as Layer.Layer<unknown>).pipe(
        Effect.catchCause((cause) =>
          Effect.fail(fail(`its remoteTable layer failed: ${Cause.pretty(cause).split("\n")[0]}`))
        ),
        Effect.flatMap((context) =>
          Option.isSome(Context.getOption(context, RemoteTable))
            ? Effect.succeed(context as Context.Context<RemoteTable>)
            : Effect.fail(fail("its remoteTable layer does not provide a RemoteTable"))
        )
      )
    })
  )
}

// -----------------------------------------------------------------------------------------------
// a worker thread
/**
 * The worker side of the transport, on the thread's `parentPort`: used by `worker-entry.ts`.
 */
export const attachWorker = (port: WT.MessagePort, address: string) => {
  let bound: ((event: TransportEvent) => void) | undefined
  let nextConnect = 0
  const connects = new Map<number, (ok: boolean) => void>()
  let closeRequested = false
  const closeWaiters = new Set<() => void>()
  const outbox = new Outbox<ToMain>(port)

  const listener = (message: unknown): void => {
    switch (tagOf(message)) {
      case "cloud-effect/Batch": {
        for (const m of (message as Batch<ToWorker>).messages) listener(m)
        return
      }
      case "cloud-effect/Frame": {
        const m = message as Extract<ToWorker, { readonly _tag: "cloud-effect/Frame" }>
        bound?.({ _tag: "Received", from: m.from, bytes: m.bytes })
        return
      }
      case "cloud-effect/Lost": {
        const m = message as Extract<ToWorker, { readonly _tag: "cloud-effect/Lost" }>
        bound?.({ _tag: "ConnectionLost", peer: m.peer })
        return
      }
      case "cloud-effect/Connected": {
        const m = message as Extract<ToWorker, { readonly _tag: "cloud-effect/Connected" }>
        const waiter = connects.get(m.id)
        connects.delete(m.id)
        waiter?.(m.ok)
        return
      }
      case "cloud-effect/Close": {
        closeRequested = true
        for (const waiter of closeWaiters) waiter()
        closeWaiters.clear()
        return
      }
    }
  }
  port.on("message", listener)

  const frameTo = (to: string) => (bytes: Uint8Array<ArrayBuffer>) =>
    ({ _tag: "cloud-effect/Frame", to, bytes }) as const

  const endpoint = (handler: (event: TransportEvent) => void): EndPoint => ({
    address,
    send: (to, bytes) => {
      if (bound !== handler) return
      if (to === address) {
        queueMicrotask(() => {
          if (bound === handler) handler({ _tag: "Received", from: address, bytes })
        })
        return
      }
      if (outbox.frame(frameTo(to), bytes)) return
      queueMicrotask(() => {
        if (bound === handler) handler({ _tag: "ConnectionLost", peer: to })
      })
    },
    connect: (to) =>
      to === address
        ? Effect.void
        : Effect.callback<void, TransportError>((resume) => {
            const id = nextConnect++
            connects.set(id, (ok) =>
              resume(ok ? Effect.void : Effect.fail(new TransportError({ address: to, reason: "unreachable" })))
            )
            outbox.push({ _tag: "cloud-effect/Connect", id, to })
            return Effect.sync(() => {
              connects.delete(id)
            })
          })
  })

  const transport = Transport.of({
    bind: (_options, handler) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          if (bound !== undefined) {
            return Effect.fail(new TransportError({ address, reason: "address already bound" }))
          }
          bound = handler
          return Effect.succeed(endpoint(handler))
        }),
        () =>
          Effect.sync(() => {
            bound = undefined
          })
      )
  })

  return {
    transport,
    /** the worker's loggers: every entry goes to the main thread, which logs it */
    logger: Logger.layer([forwardingLogger((record) => outbox.push(record))]),
    /** tell the main thread the node is up */
    ready: (): void => outbox.push({ _tag: "cloud-effect/Ready" }),
    /** tell the main thread the worker could not start */
    failed: (reason: string): void => outbox.push({ _tag: "cloud-effect/Failed", reason }),
    /** completes when the main thread asks the worker to close */
    closeRequested: Effect.callback<void>((resume) => {
      if (closeRequested) return resume(Effect.void)
      const waiter = () => resume(Effect.void)
      closeWaiters.add(waiter)
      return Effect.sync(() => {
        closeWaiters.delete(waiter)
      })
    }),
    /** stop listening, so the thread can end */
    dispose: (): void => {
      port.off("message", listener)
      bound = undefined
      for (const waiter of connects.values()) waiter(false)
      connects.clear()
    }
  }
}
