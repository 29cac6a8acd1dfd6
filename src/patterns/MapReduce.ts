/**
 * Map-reduce, as in part 3 of "Communication Patterns in Cloud Haskell": `localMapReduce` is the
 * specification (map every input pair, group the outputs by key, reduce each group), and
 * `distributedMapReduce` runs the map phase on a `WorkPool` (its slaves stay up across calls, so an
 * iterative algorithm like k-means keeps its mappers) and the grouping and reduce on the master.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { MapReduce } from "cloud-effect"
 * const wordCount = MapReduce.make({
 *   map: (_line: number, text: string) => text.split(" ").map((w) => [w, 1] as const),
 *   reduce: (_word: string, counts: ReadonlyArray<number>) => counts.reduce((a, b) => a + b, 0)
 * })
 * MapReduce.localMapReduce(wordCount, [[1, "a b a"]]) // Map { "a" => 2, "b" => 1 }
 * ```
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { InvalidOptions, PatternError } from "../internal/patterns/errors.ts"
import { integerOption } from "../internal/patterns/options.ts"
import * as Task from "../Task.ts"
import type { PoolMasterDied, WorkPool } from "./WorkPool.ts"

/**
 * A map-reduce job: `map` turns one input pair into output pairs, `reduce` folds the values that
 * share a key.
 * @since 0.1.0
 */
export interface MapReduce<K1, V1, K2, V2, V3> {
  readonly map: (key: K1, value: V1) => ReadonlyArray<readonly [K2, V2]>
  readonly reduce: (key: K2, values: ReadonlyArray<V2>) => V3
}

/**
 * Build a map-reduce job (a helper for type inference).
 * @since 0.1.0
 */
export const make = <K1, V1, K2, V2, V3>(mr: MapReduce<K1, V1, K2, V2, V3>): MapReduce<K1, V1, K2, V2, V3> => mr

const groupAndReduce = <K2, V2, V3>(
  pairs: Iterable<readonly [K2, V2]>,
  reduce: (key: K2, values: ReadonlyArray<V2>) => V3,
  groups: Map<K2, Array<V2>> = new Map()
): Map<K2, V3> => {
  for (const [k, v] of pairs) {
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [v])
    else group.push(v)
  }
  const out = new Map<K2, V3>()
  for (const [k, vs] of groups) out.set(k, reduce(k, vs))
  return out
}

/**
 * The specification: map every pair, group by key, reduce every group (in one thread).
 * @since 0.1.0
 */
export const localMapReduce = <K1, V1, K2, V2, V3>(
  mr: MapReduce<K1, V1, K2, V2, V3>,
  input: Iterable<readonly [K1, V1]>
): Map<K2, V3> => {
  const pairs: Array<readonly [K2, V2]> = []
  for (const [k, v] of input) for (const out of mr.map(k, v)) pairs.push(out)
  return groupAndReduce(pairs, mr.reduce)
}

/**
 * The remotable map side of a job: a task from a chunk of input pairs to output pairs. Define it at
 * module level and give it to every node's RemoteTable, like any task.
 * @since 0.1.0
 */
export const mapTask = <K1, K1I, V1, V1I, K2, K2I, V2, V2I>(
  name: string,
  schemas: {
    readonly key: Schema.Codec<K1, K1I>
    readonly value: Schema.Codec<V1, V1I>
    readonly outKey: Schema.Codec<K2, K2I>
    readonly outValue: Schema.Codec<V2, V2I>
  },
  map: (key: K1, value: V1) => ReadonlyArray<readonly [K2, V2]>
): Task.Task<ReadonlyArray<readonly [K1, V1]>, ReadonlyArray<readonly [K2, V2]>> =>
  Task.define(
    name,
    Schema.Array(Schema.Tuple([schemas.key, schemas.value])),
    Schema.Array(Schema.Tuple([schemas.outKey, schemas.outValue])),
    (chunk) =>
      Effect.sync(() => {
        const out: Array<readonly [K2, V2]> = []
        for (const [k, v] of chunk) for (const pair of map(k, v)) out.push(pair)
        return out
      })
  ) as unknown as Task.Task<ReadonlyArray<readonly [K1, V1]>, ReadonlyArray<readonly [K2, V2]>>

function* chunksOf<A>(input: Iterable<A>, size: number): Generator<ReadonlyArray<A>> {
  let chunk: Array<A> = []
  for (const a of input) {
    chunk.push(a)
    if (chunk.length >= size) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}

/**
 * Map on the pool's slaves (inputs in chunks of `chunk` pairs), then group and reduce here.
 * Equal to `localMapReduce` with the same map and reduce. A `chunk` that is not an integer >= 1
 * fails it with `InvalidOptions`. Each run of the returned effect (a retry, a repeat) iterates
 * `input` afresh and starts from empty groups, so give an iterable that can be iterated again (an
 * array, not a generator's iterator) if the effect may run more than once.
 * @since 0.1.0
 */
export const distributedMapReduce = <K1, V1, K2, V2, V3>(
  pool: WorkPool["Service"],
  task: Task.Task<ReadonlyArray<readonly [K1, V1]>, ReadonlyArray<readonly [K2, V2]>>,
  reduce: (key: K2, values: ReadonlyArray<V2>) => V3,
  input: Iterable<readonly [K1, V1]>,
  options: { readonly chunk?: number } = {}
): Effect.Effect<Map<K2, V3>, InvalidOptions | PatternError | PoolMasterDied> =>
  // the chunk iterator and the groups belong to one run: built when it starts, never shared
  Effect.suspend(() => {
    const chunk = options.chunk ?? 64
    const invalid = integerOption("chunk", chunk, 1)
    if (invalid !== undefined) return Effect.fail(invalid)
    return Effect.map(
      pool.reduce(task, chunksOf(input, chunk), {
        initial: new Map<K2, Array<V2>>(),
        combine: (groups, pairs) => {
          for (const [k, v] of pairs) {
            const group = groups.get(k)
            if (group === undefined) groups.set(k, [v])
            else group.push(v)
          }
          return groups
        }
      }),
      (groups) => groupAndReduce([], reduce, groups)
    )
  })
