/**
 * `cloud-effect slave` and `cloud-effect master`: the demo job (or a user's own tasks) over TCP,
 * across OS processes or machines.
 */
import { Console, Duration, Effect, Layer, type Redacted } from "effect"
import * as Backend from "../Backend.ts"
import type { RemoteTable } from "../internal/closure.ts"
import { isWildcard } from "../internal/host.ts"
import { moduleHref } from "../internal/worker.ts"
import * as Node from "../Node.ts"
import * as MasterSlave from "../patterns/MasterSlave.ts"
import * as PrimeFactors from "../patterns/PrimeFactors.ts"
import * as WorkPushing from "../patterns/WorkPushing.ts"
import * as WorkStealing from "../patterns/WorkStealing.ts"
import * as Remote from "../Remote.ts"
import { formatColumns, type Pattern } from "./demo.ts"

/** `HOST:PORT` → host and port */
export const parseListen = (
  listen: string,
  advertise: string | undefined
): Effect.Effect<{ host: string; port: number }, Backend.BackendError> => {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen)
  const port = match === null ? Number.NaN : Number(match[3])
  if (match === null || !(port >= 0 && port <= 65535)) {
    return Effect.fail(new Backend.BackendError({ address: listen, reason: "expected HOST:PORT, e.g. 127.0.0.1:4000" }))
  }
  const host = match[1] ?? match[2]!
  if (advertise === undefined && isWildcard(host)) {
    // (the library says the same of its option advertiseHost)
    return Effect.fail(
      new Backend.BackendError({
        address: listen,
        reason: "listening on every interface: give --advertise HOST, the host peers reach this node at"
      })
    )
  }
  return Effect.succeed({ host, port })
}

/** `HOST:PORT` or `tcp://HOST:PORT` → `tcp://HOST:PORT` */
export const tcpAddress = (address: string): string => (address.startsWith("tcp://") ? address : `tcp://${address}`)

/** the table of a slave or master: the demo's tasks, plus the `remoteTable` of a user's module */
export const loadTable = (load: string | undefined): Effect.Effect<Layer.Layer<RemoteTable>, Backend.BackendError> =>
  Effect.gen(function* () {
    const own = Remote.table(...PrimeFactors.tasks)
    if (load === undefined) return own
    // (a path: its characters are not URL syntax, so `#` or `%` in it stay part of it)
    const href = moduleHref(load)
    const module = yield* Effect.tryPromise({
      try: () => import(href) as Promise<{ readonly remoteTable?: unknown }>,
      catch: (e) => new Backend.BackendError({ address: load, reason: `cannot load the module: ${String(e)}` })
    })
    if (!Layer.isLayer(module.remoteTable)) {
      return yield* new Backend.BackendError({ address: load, reason: "the module exports no `remoteTable` layer" })
    }
    const theirs = module.remoteTable as Layer.Layer<RemoteTable>
    // both tables: the user's definitions and the demo's tasks
    return Layer.effect(
      Remote.RemoteTable,
      Effect.gen(function* () {
        const a = yield* Effect.provide(Effect.service(Remote.RemoteTable), own)
        const b = yield* Effect.provide(Effect.service(Remote.RemoteTable), theirs)
        return new Map([...a, ...b]) as ReadonlyMap<string, Remote.Definition>
      })
    )
  })

export const runSlave = (options: {
  readonly listen: string
  readonly advertise: string | undefined
  readonly cookie: Redacted.Redacted<string>
  readonly load: string | undefined
  readonly master: string | undefined
}) =>
  Effect.gen(function* () {
    const { host, port } = yield* parseListen(options.listen, options.advertise)
    const table = yield* loadTable(options.load)
    yield* Effect.gen(function* () {
      const node = yield* Node.Node
      yield* Console.log(`cloud-effect slave listening on ${node.nodeId.address}`)
      return yield* Effect.never
    }).pipe(
      Effect.provide(
        Backend.tcpSlave({
          host,
          port,
          cookie: options.cookie,
          table,
          advertiseHost: options.advertise,
          master: options.master === undefined ? undefined : tcpAddress(options.master)
        })
      )
    )
  })

export const runMaster = (options: {
  readonly listen: string
  readonly advertise: string | undefined
  readonly cookie: Redacted.Redacted<string>
  readonly slaves: ReadonlyArray<string>
  /** wait until this many slaves are known (given or registered), for up to `waitTimeout` seconds */
  readonly waitSlaves: number | undefined
  readonly waitTimeout: number
  readonly pattern: Pattern
  readonly n: number
  readonly variant: "primes" | "naive"
  readonly chunk: number
  readonly window: number
  readonly prefetch: boolean
  readonly json: boolean
}) =>
  Effect.gen(function* () {
    const { host, port } = yield* parseListen(options.listen, options.advertise)
    const task = options.variant === "primes" ? PrimeFactors.primesRange : PrimeFactors.naiveRange
    const table = Remote.table(...PrimeFactors.tasks)
    if (options.slaves.length === 0 && options.waitSlaves === undefined) {
      return yield* new Backend.BackendError({
        address: "master",
        reason: "no slaves: give --slaves HOST:PORT,... or --wait-slaves N (for slaves started with --master)"
      })
    }
    const [result, millis, used] = yield* Effect.gen(function* () {
      if (options.waitSlaves !== undefined) {
        const node = yield* Node.Node
        yield* Console.error(
          `cloud-effect master listening on ${node.nodeId.address}, waiting for ${options.waitSlaves} slave${options.waitSlaves === 1 ? "" : "s"}`
        )
        yield* Backend.awaitSlaves(options.waitSlaves, { timeout: Duration.seconds(options.waitTimeout) })
      }
      return yield* Backend.startMaster((slaves) =>
        Effect.gen(function* () {
          const job = {
            task,
            inputs: PrimeFactors.ranges(1, options.n, options.chunk),
            nodes: slaves,
            reduce: PrimeFactors.sum
          }
          const start = performance.now()
          const sum = yield* options.pattern === "master-slave"
            ? MasterSlave.run(job)
            : options.pattern === "work-pushing"
              ? WorkPushing.run({ ...job, window: options.window })
              : WorkStealing.run({ ...job, prefetch: options.prefetch })
          return [sum, performance.now() - start, slaves.map((s) => s.address)] as const
        })
      )
    }).pipe(
      Effect.provide(
        Backend.tcpMaster({
          host,
          port,
          cookie: options.cookie,
          table,
          slaves: options.slaves,
          advertiseHost: options.advertise
        })
      )
    )
    if (options.json) {
      yield* Console.log(
        JSON.stringify({
          pattern: options.pattern,
          n: options.n,
          variant: options.variant,
          slaves: used,
          result,
          millis
        })
      )
    } else {
      yield* Console.log(
        `sum of numPrimeFactors (${options.variant}) over 1..${options.n} on ${used.length} TCP slave${used.length === 1 ? "" : "s"}`
      )
      // no sequential run here (the job may be far too large for one machine): nothing to check
      // the result against, nor a speed-up over it
      yield* Console.log(
        formatColumns(
          ["pattern", "result", "time ms", "slaves"],
          [[options.pattern, result.toLocaleString("en-US"), millis.toFixed(0), String(used.length)]]
        )
      )
    }
    return result
  })
