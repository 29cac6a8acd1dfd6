/**
 * The entry module of a worker thread started by the worker hub (`Transport.layerWorkerHub`,
 * `Backend.workerThreads`). It reads `workerData` (`{ address, module, logLevel }`), imports `module`, builds
 * the `remoteTable` layer it exports, starts a node on the `address` endpoint (every frame goes to
 * the main thread), tells the main thread it is ready and serves until the main thread asks it to
 * close. Then it closes the node (its processes are interrupted and their finalizers run) and stops
 * listening, so the thread ends (if a handle a closure left open keeps it alive, it exits shortly after).
 *
 * If the module cannot be loaded or has no usable `remoteTable`, the worker reports why and ends:
 * the main thread's `spawnWorkers` fails with a `WorkerError`.
 * @internal
 */
import { parentPort, workerData } from "node:worker_threads"
import { Cause, Context, Effect, Exit, Option, References } from "effect"
import { make as makeNode } from "../Node.ts"
import { Transport } from "../Transport.ts"
import { attachWorker, isWorkerData, loadRemoteTable } from "./worker.ts"

const port = parentPort
const data: unknown = workerData
if (port === null || !isWorkerData(data)) {
  throw new Error("cloud-effect: worker-entry.ts runs only as a worker thread started by the worker hub")
}

const worker = attachWorker(port, data.address)

const program = Effect.gen(function* () {
  const table = yield* loadRemoteTable(data.module)
  yield* makeNode().pipe(Effect.provideContext(Context.add(table, Transport, worker.transport)))
  worker.ready()
  yield* worker.closeRequested
}).pipe(
  Effect.scoped,
  Effect.annotateLogs({ node: data.address }),
  Effect.provide(worker.logger),
  Effect.provideService(References.MinimumLogLevel, data.logLevel)
)

void Effect.runPromiseExit(program).then((exit) => {
  if (Exit.isFailure(exit)) {
    const error = Cause.findErrorOption(exit.cause)
    const reason = Option.isNone(error) ? Cause.pretty(exit.cause) : error.value
    worker.failed(typeof reason === "string" ? reason : reason.reason)
  }
  worker.dispose()
  // the thread ends when nothing else keeps it alive; if something does (a timer a closure left
  // behind), end it anyway: the node and its processes are closed
  setTimeout(() => process.exit(0), 200).unref()
})
