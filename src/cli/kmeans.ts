/**
 * `cloud-effect kmeans`: k-means on map-reduce over local worker threads; prints each iteration and
 * writes an SVG plot.
 */
import * as fs from "node:fs"
import { Console, Effect, Layer } from "effect"
import * as Backend from "../Backend.ts"
import { siblingModule } from "../internal/sibling.ts"
import * as KMeans from "../patterns/KMeans.ts"
import * as WorkPool from "../patterns/WorkPool.ts"

const tableModule = siblingModule(import.meta.url, "tasks")

export const runKMeans = (options: {
  readonly points: number
  readonly k: number
  readonly workers: number
  readonly seed: number
  readonly svg: string
}) =>
  Effect.gen(function* () {
    const points = KMeans.randomPoints(options.points, options.seed)
    yield* Console.log(`k-means: ${options.points} points, k = ${options.k}, ${options.workers} worker-thread mappers`)
    const start = performance.now()
    const result = yield* Effect.gen(function* () {
      const backend = yield* Backend.Backend
      const pool = yield* WorkPool.WorkPool
      return yield* Backend.startMaster(() =>
        KMeans.distributed(pool, backend.slaves, points, options.k, {
          onIteration: (it) =>
            Console.log(
              `iteration ${String(it.iteration).padStart(2)}: ${it.centres
                .map(([x, y]) => `(${x.toFixed(0)}, ${y.toFixed(0)})`)
                .join(" ")}${it.moved ? "" : "  (converged)"}`
            )
        })
      )
    }).pipe(
      Effect.provide(
        Layer.unwrap(
          Effect.map(Effect.service(Backend.Backend), (backend) =>
            WorkPool.layer({ strategy: "workStealing", nodes: backend.slaves })
          )
        ).pipe(Layer.provideMerge(Backend.workerThreads(options.workers, { module: tableModule })))
      )
    )
    const millis = performance.now() - start
    const local = KMeans.local(points, options.k)
    const same = JSON.stringify(local.iterations) === JSON.stringify(result.iterations)
    yield* Console.log(
      `${result.iterations.length} iterations in ${millis.toFixed(0)} ms; equal to the local run: ${same ? "yes" : "NO"}`
    )
    yield* Effect.sync(() => fs.writeFileSync(options.svg, KMeans.svg(points, result)))
    yield* Console.log(`plot written to ${options.svg}`)
    return result
  })
