/**
 * k-means on map-reduce (part 4 of "Communication Patterns in Cloud Haskell"): points are 2-D
 * integer coordinates, the first k points are the initial centres, and every iteration is one
 * map-reduce: map a range of points to per-centre partial sums, reduce the partials of each centre
 * to its new position. The points are shipped to each slave node once (`store`); an iteration only
 * sends index ranges and the centres. With integer coordinates the sums are exact, so the distributed
 * run equals the local one iteration by iteration.
 *
 * @example
 * ```ts
 * import { KMeans } from "cloud-effect"
 * const points = KMeans.randomPoints(1000, 42)
 * const run = KMeans.local(points, 5) // { iterations, centres, assignment }
 * ```
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { InvalidOptions } from "../internal/patterns/errors.ts"
import { integerOption } from "../internal/patterns/options.ts"
import type { NodeId } from "../NodeId.ts"
import type { Process } from "../Process.ts"
import * as Remote from "../Remote.ts"
import * as MapReduce from "./MapReduce.ts"
import type { WorkPool } from "./WorkPool.ts"

/**
 * A centre's partial sum: coordinates summed over `n` points.
 * @since 0.1.0
 */
export class Partial extends Schema.TaggedClass<Partial>()("KMeans/Partial", {
  x: Schema.Number,
  y: Schema.Number,
  n: Schema.Int
}) {}

/**
 * One map input: points `from..to-1` of a stored dataset, and the current centres.
 * @since 0.1.0
 */
export class Slice extends Schema.TaggedClass<Slice>()("KMeans/Slice", {
  dataset: Schema.String,
  from: Schema.Int,
  to: Schema.Int,
  centres: Schema.Array(Schema.Tuple([Schema.Number, Schema.Number]))
}) {}

/** the datasets of this thread (each node stores the points once) */
const datasets = new Map<string, Int32Array>()

/**
 * Random points with integer coordinates in [0, 10000), from a seed (deterministic).
 * @since 0.1.0
 */
export const randomPoints = (n: number, seed: number): Int32Array => {
  let s = seed >>> 0
  const next = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = new Int32Array(2 * n)
  // a few blobs, so there is something to find
  const blobs = Array.from({ length: 5 }, () => [next() * 8000 + 1000, next() * 8000 + 1000] as const)
  for (let i = 0; i < n; i++) {
    const [cx, cy] = blobs[i % blobs.length]!
    out[2 * i] = Math.max(0, Math.min(9999, Math.round(cx + (next() - 0.5) * 3000)))
    out[2 * i + 1] = Math.max(0, Math.min(9999, Math.round(cy + (next() - 0.5) * 3000)))
  }
  return out
}

const nearest = (x: number, y: number, centres: ReadonlyArray<readonly [number, number]>): number => {
  let best = 0
  let bestD = Number.POSITIVE_INFINITY
  for (let c = 0; c < centres.length; c++) {
    const dx = x - centres[c]![0]
    const dy = y - centres[c]![1]
    const d = dx * dx + dy * dy
    if (d < bestD) {
      bestD = d
      best = c
    }
  }
  return best
}

/** the map side: a slice of points to partial sums per centre */
const mapSlice = (slice: Slice): ReadonlyArray<readonly [number, Partial]> => {
  const points = datasets.get(slice.dataset)
  if (points === undefined) throw new Error(`dataset ${slice.dataset} is not stored on this node`)
  const k = slice.centres.length
  const sx = new Float64Array(k)
  const sy = new Float64Array(k)
  const n = new Int32Array(k)
  for (let i = slice.from; i < slice.to; i++) {
    const x = points[2 * i]!
    const y = points[2 * i + 1]!
    const c = nearest(x, y, slice.centres)
    sx[c]! += x
    sy[c]! += y
    n[c]!++
  }
  const out: Array<readonly [number, Partial]> = []
  for (let c = 0; c < k; c++) if (n[c]! > 0) out.push([c, new Partial({ x: sx[c]!, y: sy[c]!, n: n[c]! })])
  return out
}

/** the reduce side: the partials of one centre to its sum */
const reducePartials = (_centre: number, partials: ReadonlyArray<Partial>): Partial => {
  let x = 0
  let y = 0
  let n = 0
  for (const p of partials) {
    x += p.x
    y += p.y
    n += p.n
  }
  return new Partial({ x, y, n })
}

/**
 * The map-reduce of one iteration.
 * @since 0.1.0
 */
export const job = MapReduce.make({ map: (_: number, slice: Slice) => mapSlice(slice), reduce: reducePartials })

/**
 * The remotable map task.
 * @since 0.1.0
 */
export const mapTask = MapReduce.mapTask(
  "cloud-effect/KMeans/map",
  { key: Schema.Int, value: Slice, outKey: Schema.Int, outValue: Partial },
  (_: number, slice: Slice) => mapSlice(slice)
)

/**
 * Store a dataset on the node that runs it (points as little-endian Int32 pairs); returns the count.
 * @since 0.1.0
 */
export const store = Remote.define(
  "cloud-effect/KMeans/store",
  Schema.Struct({ dataset: Schema.String, points: Schema.Uint8Array }),
  ({ dataset, points }) =>
    Effect.sync(() => {
      const copy = new Int32Array(points.slice().buffer)
      datasets.set(dataset, copy)
      return copy.length / 2
    }),
  Schema.Int
)

/**
 * Remove a dataset from the node that runs it (`store` in reverse); returns whether it was stored.
 * `distributed` calls it on each of its nodes when a run ends, however it ends.
 * @since 0.1.0
 */
export const drop = Remote.define(
  "cloud-effect/KMeans/drop",
  Schema.Struct({ dataset: Schema.String }),
  ({ dataset }) => Effect.sync(() => datasets.delete(dataset)),
  Schema.Boolean
)

/**
 * The remote definitions of k-means, for a `RemoteTable` (every node of a `distributed` run needs them).
 * @since 0.1.0
 */
export const definitions = [mapTask, store, drop] as const

/**
 * One iteration's outcome.
 * @since 0.1.0
 */
export interface Iteration {
  readonly iteration: number
  readonly centres: ReadonlyArray<readonly [number, number]>
  readonly moved: boolean
}

/**
 * The result of a run.
 * @since 0.1.0
 */
export interface Result {
  readonly iterations: ReadonlyArray<Iteration>
  readonly centres: ReadonlyArray<readonly [number, number]>
  /** the centre of each point */
  readonly assignment: Int32Array
}

/** the first of k, `maxIterations` and `slice` that makes no sense for these points, if any */
const invalidOption = (
  points: Int32Array,
  k: number,
  options: { readonly maxIterations?: number | undefined; readonly slice?: number | undefined }
): InvalidOptions | undefined => {
  const count = points.length / 2
  return (
    integerOption("k", k, 1, { value: Math.max(1, count), what: "the number of points" }) ??
    integerOption("maxIterations", options.maxIterations ?? 50, 1) ??
    integerOption("slice", options.slice ?? 2000, 1)
  )
}

const initialCentres = (points: Int32Array, k: number): Array<readonly [number, number]> =>
  Array.from({ length: k }, (_, i) => [points[2 * i]!, points[2 * i + 1]!] as const)

const nextCentres = (
  old: ReadonlyArray<readonly [number, number]>,
  sums: Map<number, Partial>
): Array<readonly [number, number]> =>
  old.map((c, i) => {
    const p = sums.get(i)
    return p === undefined || p.n === 0 ? c : ([p.x / p.n, p.y / p.n] as const)
  })

const slices = (dataset: string, count: number, size: number, centres: ReadonlyArray<readonly [number, number]>) => {
  const out: Array<readonly [number, Slice]> = []
  for (let from = 0, i = 0; from < count; from += size, i++) {
    out.push([i, new Slice({ dataset, from, to: Math.min(count, from + size), centres })])
  }
  return out
}

const finish = (
  points: Int32Array,
  iterations: Array<Iteration>,
  centres: ReadonlyArray<readonly [number, number]>
) => {
  const assignment = new Int32Array(points.length / 2)
  for (let i = 0; i < assignment.length; i++) assignment[i] = nearest(points[2 * i]!, points[2 * i + 1]!, centres)
  return { iterations, centres, assignment }
}

const same = (a: ReadonlyArray<readonly [number, number]>, b: ReadonlyArray<readonly [number, number]>) =>
  a.every((c, i) => c[0] === b[i]![0] && c[1] === b[i]![1])

/**
 * k-means in this thread, with `localMapReduce` (the specification). Throws `InvalidOptions` for a
 * `k` that is not an integer from 1 to the number of points, or a `maxIterations` or `slice` below 1.
 * @since 0.1.0
 */
export const local = (
  points: Int32Array,
  k: number,
  options: { maxIterations?: number; slice?: number } = {}
): Result => {
  const invalid = invalidOption(points, k, options)
  if (invalid !== undefined) throw invalid
  const dataset = `local-${Math.random()}`
  datasets.set(dataset, points)
  try {
    let centres = initialCentres(points, k)
    const iterations: Array<Iteration> = []
    for (let it = 1; it <= (options.maxIterations ?? 50); it++) {
      const sums = MapReduce.localMapReduce(job, slices(dataset, points.length / 2, options.slice ?? 2000, centres))
      const next = nextCentres(centres, sums)
      const moved = !same(next, centres)
      centres = next
      iterations.push({ iteration: it, centres, moved })
      if (!moved) break
    }
    return finish(points, iterations, centres)
  } finally {
    datasets.delete(dataset)
  }
}

/** remove a run's dataset from a node; a node that cannot be reached (or is too slow) is logged */
const dropFrom = (node: NodeId, dataset: string) =>
  Remote.call(node, drop({ dataset })).pipe(
    Effect.timeout("10 seconds"),
    Effect.catch((error) =>
      Effect.logWarning(`KMeans: dataset ${dataset} may remain on ${node.address}: ${error.message}`)
    ),
    Effect.asVoid
  )

/**
 * k-means with the map phase on a `WorkPool`'s slaves: the points are stored once on each of
 * `nodes`, then each iteration is a `distributedMapReduce`. `onIteration` sees each iteration.
 * When the run ends (a result, a failure or an interruption) the points are removed from every one
 * of `nodes` (`drop`; a node that cannot be reached within 10 seconds is logged and skipped).
 * Options that make no sense (as for `local`) fail it with `InvalidOptions` before anything is sent.
 * @since 0.1.0
 */
export const distributed = (
  pool: WorkPool["Service"],
  nodes: ReadonlyArray<NodeId>,
  points: Int32Array,
  k: number,
  options: {
    readonly maxIterations?: number
    readonly slice?: number
    readonly onIteration?: (iteration: Iteration) => Effect.Effect<void>
  } = {}
): Effect.Effect<
  Result,
  Remote.CallError | import("./WorkPool.ts").PatternError | import("./WorkPool.ts").PoolMasterDied,
  Process
> =>
  Effect.gen(function* () {
    const invalid = invalidOption(points, k, options)
    if (invalid !== undefined) return yield* invalid
    const dataset = `ds-${Date.now()}-${Math.floor(Math.random() * 1e9)}`
    const bytes = new Uint8Array(points.buffer, points.byteOffset, points.byteLength)
    const iterate = Effect.gen(function* () {
      // ship the points once per mapper node
      yield* Effect.forEach(nodes, (node) => Remote.call(node, store({ dataset, points: bytes })), {
        concurrency: "unbounded",
        discard: true
      })
      let centres = initialCentres(points, k)
      const iterations: Array<Iteration> = []
      for (let it = 1; it <= (options.maxIterations ?? 50); it++) {
        const sums = yield* MapReduce.distributedMapReduce(
          pool,
          mapTask,
          reducePartials,
          slices(dataset, points.length / 2, options.slice ?? 2000, centres),
          { chunk: 1 }
        )
        const next = nextCentres(centres, sums)
        const moved = !same(next, centres)
        centres = next
        const iteration = { iteration: it, centres, moved }
        iterations.push(iteration)
        if (options.onIteration !== undefined) yield* options.onIteration(iteration)
        if (!moved) break
      }
      return finish(points, iterations, centres)
    })
    // then drop them from every node, stored or not (a store cut short may still have run), once
    // the pool's job has ended (its finalizer kills the slaves of a job that did not succeed)
    return yield* Effect.ensuring(
      iterate,
      Effect.forEach(nodes, (node) => dropFrom(node, dataset), { concurrency: "unbounded", discard: true })
    )
  })

/**
 * An SVG plot of the points (coloured by centre) and the centres.
 * @since 0.1.0
 */
export const svg = (points: Int32Array, result: Result, size = 600): string => {
  const colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
  const scale = size / 10000
  const dots: Array<string> = []
  const step = Math.max(1, Math.floor(points.length / 2 / 5000)) // at most ~5,000 dots
  for (let i = 0; i < points.length / 2; i += step) {
    const colour = colours[result.assignment[i]! % colours.length]
    dots.push(
      `<circle cx="${(points[2 * i]! * scale).toFixed(1)}" cy="${(points[2 * i + 1]! * scale).toFixed(1)}" r="1.2" fill="${colour}"/>`
    )
  }
  const centres = result.centres.map(
    ([x, y]) =>
      `<circle cx="${(x * scale).toFixed(1)}" cy="${(y * scale).toFixed(1)}" r="7" fill="none" stroke="black" stroke-width="2"/>`
  )
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...dots,
    ...centres,
    `<text x="8" y="18" font-family="sans-serif" font-size="13">k-means: ${points.length / 2} points, ${result.centres.length} centres, ${result.iterations.length} iterations</text>`,
    "</svg>"
  ].join("\n")
}
