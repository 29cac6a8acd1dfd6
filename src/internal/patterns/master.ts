/**
 * The master side of the three patterns: one loop, three ways of handing out work.
 *
 * - an item source pulled lazily (an iterable or a Stream: never materialised);
 * - items handed out in batches (one message, one encoding of the inputs and one of the outputs per
 *   batch), tracked per batch: an item is in at most one live batch, a batch's results count once
 *   (later ones, or those of a batch whose items were handed out again, are ignored), so every item
 *   is counted exactly once even when it was retried;
 * - retries (a failed item, or the items of a slave that died, go back to the queue) and typed
 *   failures (`TaskFailed` naming the item, `NoSlavesLeft` instead of a hang);
 * - cleanup: whatever way the pattern ends, every slave process it started is killed and its death
 *   awaited, and stale messages of the job are drained from the master's mailbox.
 * @internal
 */
import { Cause, Duration, Effect, Metric, Option, Queue, type Schema, Stream } from "effect"
import type { NodeId } from "../../NodeId.ts"
import { type MonitorRef, NodeMonitorNotification, ProcessMonitorNotification } from "../../Notification.ts"
import * as Process from "../../Process.ts"
import { type ProcessId, key as pidKey } from "../../ProcessId.ts"
import * as Remote from "../../Remote.ts"
import type { Task } from "../../Task.ts"
import { DidSpawn, SpawnFailed } from "../closure.ts"
import { withState } from "../context.ts"
import { InvalidInput, InvalidOptions, NoSlavesLeft, type PatternError, TaskFailed } from "./errors.ts"
import { InputsReady, NoWork, Request, Results, Work } from "./messages.ts"
import { describeValue, integerOption } from "./options.ts"
import { ItemEnv, itemClosure, PushEnv, pushClosure, StealEnv, stealClosure } from "./slaves.ts"

/** How outputs are folded into one result. */
export interface Reducer<in O, in out A> {
  readonly initial: A
  readonly combine: (acc: A, output: O) => A
}

/** A snapshot of a running pattern. */
export interface Progress {
  readonly done: number
  readonly inFlight: number
  readonly retried: number
  readonly slaves: number
}

/** What every pattern takes. */
export interface Job<I, O, E = never, R = never> {
  /** the task to run on each input */
  readonly task: Task<I, O>
  /** the inputs: an iterable or a Stream, pulled as work is handed out (a Stream up to 1,024 inputs ahead) */
  readonly inputs: Iterable<I> | Stream.Stream<I, E, R>
  /** the slave nodes */
  readonly nodes: ReadonlyArray<NodeId>
  /** how many times a failed item is tried again before the pattern fails (default 3; an integer >= 0, or Infinity) */
  readonly retries?: number | undefined
  /** called as items complete */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
}

export type Strategy =
  | { readonly _tag: "steal"; readonly prefetch: boolean; readonly batch: number; readonly targetMillis: number }
  | { readonly _tag: "push"; readonly window: number }
  | { readonly _tag: "masterSlave"; readonly concurrency: number }

/**
 * The work per adaptive work-stealing batch, in milliseconds, by default. Measured on the prime
 * factors job (2 worker threads, 2 cores): at 20 ms the master's messaging took 90-140 ms of CPU
 * per 2.6 s job, from the cores the slaves compute on; at 50 ms it took 30-60 ms, and the job ended
 * about 2 % sooner (three pairs of runs); each batch also costs its slave about 0.5 ms between
 * batches (results out, next batch in and decoded), and at 100 ms the job on 2,000 ranges ended
 * 3 % sooner than at 50 ms (median of four paired runs). The last batches shrink toward the end of
 * the input either way, to a share of what is left.
 */
export const defaultTargetMillis = 100

/** tries of an item after its first, by default */
export const defaultRetries = 3

const itemsDone = Metric.counter("cloud_effect_items_done", { description: "items completed by the patterns" })
const itemsRetried = Metric.counter("cloud_effect_items_retried", { description: "items handed out again" })
const itemsFailed = Metric.counter("cloud_effect_items_failed", { description: "item attempts that failed" })
const itemsInFlight = Metric.gauge("cloud_effect_items_in_flight", { description: "items handed out, not done" })

/**
 * The metrics of one job's task, with their attributes made once (`Metric.withAttributes` builds a
 * key per call, which cost the master more than the rest of a batch's bookkeeping).
 */
const jobMetrics = (task: string) => {
  const perSlave = new Map<string, { readonly done: typeof itemsDone; readonly failed: typeof itemsFailed }>()
  return {
    retried: Metric.withAttributes(itemsRetried, { task }),
    inFlight: Metric.withAttributes(itemsInFlight, { task }),
    of: (slave: string) => {
      let m = perSlave.get(slave)
      if (m === undefined) {
        const attributes = { task, slave }
        m = {
          done: Metric.withAttributes(itemsDone, attributes),
          failed: Metric.withAttributes(itemsFailed, attributes)
        }
        perSlave.set(slave, m)
      }
      return m
    }
  }
}

interface Item<I> {
  /** its position in the job's inputs */
  readonly index: number
  readonly input: I
  attempts: number
  lastError: string
}

/** items handed out together; the slave answers with the batch's id */
interface Batch<I> {
  readonly id: number
  readonly items: ReadonlyArray<Item<I>>
  /** the slave running it (master-slave: unknown until its item process is spawned) */
  slave: Slave | undefined
}

/**
 * The state a `WorkPool` keeps between jobs: its slaves stay up, and batch ids keep counting (so a
 * late duplicate of an earlier job's batch is never taken for one of the current job).
 */
export interface Pool {
  readonly job: number
  readonly slaves: Map<string, Slave>
  nextBatch: number
}

/** a new pool state */
export const makePool = (): Pool => ({
  job: Math.floor(Math.random() * 0x7fffffff),
  slaves: new Map(),
  nextBatch: 0
})

export interface Slave {
  readonly pid: ProcessId
  readonly ref: MonitorRef
  readonly node: NodeId
  /** the ids of its batches not done (of the current job) */
  readonly batches: Set<number>
  /** the items in them */
  items: number
  /** work-stealing: how many batches it asked for and did not get */
  requests: number
  /** work-stealing: the size of the batches it asks for */
  requested: number
}

const isStream = <I, E, R>(inputs: Iterable<I> | Stream.Stream<I, E, R>): inputs is Stream.Stream<I, E, R> =>
  Stream.isStream(inputs)

/**
 * How many inputs of a Stream are read ahead of need: a stream is read by a fiber of its own into a
 * queue of this size, so a stream that gives its inputs one at a time (chunks of one, as
 * `Stream.mapEffect` and `Stream.fromAsyncIterable` give) still keeps every slave busy.
 */
const STREAM_AHEAD = 1024

/**
 * Pull inputs from an iterable or a Stream, up to `n` at a time. A Stream is read ahead by a fiber
 * of the job's scope; when the master found no input ready while it wanted some, `wake` is run once
 * as soon as more are (or the stream ends), so the master hands them out without waiting for a
 * result. A stream may be live (fed as results come back): the master never waits on it while
 * items are in flight.
 */
const makeSource = <I, E, R>(
  inputs: Iterable<I> | Stream.Stream<I, E, R>,
  wake: Effect.Effect<void, never, Process.Process>
) =>
  Effect.gen(function* () {
    if (!isStream(inputs)) {
      const iterator = inputs[Symbol.iterator]()
      let exhausted = false
      return {
        /** give up to `n` inputs to `onInput` (fewer once the source is exhausted) */
        take: (n: number, onInput: (input: I) => void, _block: boolean): Effect.Effect<void, E, R> =>
          Effect.sync(() => {
            for (let k = 0; k < n && !exhausted; k++) {
              const r = iterator.next()
              if (r.done) exhausted = true
              else onInput(r.value)
            }
          }),
        exhausted: () => exhausted,
        close: () => {}
      }
    }
    const queue = yield* Queue.bounded<I, E | Cause.Done>(STREAM_AHEAD)
    /** the master wanted inputs and found none: tell it when there are */
    let starved = false
    let closed = false
    const ready = Effect.suspend(() => {
      if (!starved || closed) return Effect.void
      starved = false
      return wake
    })
    yield* Effect.forkScoped(
      Stream.runForEachArray(inputs, (chunk) => Effect.andThen(Queue.offerAll(queue, chunk), ready)).pipe(
        Effect.matchCauseEffect({
          onSuccess: () => Queue.end(queue),
          onFailure: (cause) => Queue.failCause(queue, cause)
        }),
        Effect.andThen(ready)
      )
    )
    let exhausted = false
    return {
      /**
       * Give up to `n` inputs to `onInput`: those read already, and, with `block`, a wait for the
       * stream's next input while none has been given.
       */
      take: (n: number, onInput: (input: I) => void, block: boolean): Effect.Effect<void, E, R> =>
        Effect.gen(function* () {
          let k = 0
          while (k < n && !exhausted) {
            let exit = Queue.takeUnsafe(queue)
            if (exit === undefined) {
              if (k > 0 || !block) {
                starved = true
                return
              }
              exit = yield* Effect.exit(Queue.take(queue))
            }
            if (exit._tag === "Success") {
              onInput(exit.value)
              k++
            } else if (exit.cause.reasons.some((r) => r._tag === "Fail" && Cause.isDone(r.error))) {
              exhausted = true
            } else {
              return yield* Effect.failCause(exit.cause as Cause.Cause<E>)
            }
          }
        }),
      exhausted: () => exhausted,
      /** the job is ending: no more wake-ups */
      close: () => {
        closed = true
      }
    }
  })

/** the first option that makes no sense, if any */
export const invalidOption = (retries: number, strategy: Strategy): InvalidOptions | undefined => {
  const check = (option: string, value: number, ok: boolean, expected: string) =>
    ok ? undefined : new InvalidOptions({ option, value: describeValue(value), expected })
  const first =
    retries === Infinity
      ? undefined
      : check("retries", retries, Number.isSafeInteger(retries) && retries >= 0, "an integer >= 0, or Infinity")
  if (first !== undefined) return first
  switch (strategy._tag) {
    case "steal":
      return (
        integerOption("batch", strategy.batch, 0) ??
        check(
          "targetMillis",
          strategy.targetMillis,
          Number.isFinite(strategy.targetMillis) && strategy.targetMillis > 0,
          "a number of milliseconds > 0"
        )
      )
    case "push":
      return integerOption("window", strategy.window, 1)
    case "masterSlave":
      return integerOption("concurrency", strategy.concurrency, 1)
  }
}

/**
 * Run a job with a strategy; the outputs are given to `onOutputs` a batch at a time (in completion
 * order), with their items' positions in the inputs. Options that make no sense fail it with
 * `InvalidOptions` before it starts anything.
 */
export const runJob = <I, O, E, R>(
  job: Job<I, O, E, R>,
  strategy: Strategy,
  onOutputs: (outputs: ReadonlyArray<O>, indices: ReadonlyArray<number>) => Effect.Effect<void>,
  pool?: Pool
): Effect.Effect<void, PatternError | E, R | Process.Process> =>
  Effect.scoped(
    Effect.gen(function* () {
      const task = job.task
      const retries = job.retries ?? defaultRetries
      const invalid = invalidOption(retries, strategy)
      if (invalid !== undefined) return yield* invalid
      const metrics = jobMetrics(task.name)
      const me = yield* Process.self
      const jobId = pool?.job ?? Math.floor(Math.random() * 0x7fffffff)
      const ids = pool ?? { nextBatch: 0 }
      const source = yield* makeSource(
        job.inputs,
        Effect.suspend(() => Process.send(me, new InputsReady({ job: jobId })))
      )
      const known = Array.isArray(job.inputs) ? job.inputs.length : undefined
      const retry: Array<Item<I>> = []
      /** the batches handed out and not done, by id */
      const batches = new Map<number, Batch<I>>()
      /** the items in them */
      let inFlight = 0
      const slaves = pool?.slaves ?? new Map<string, Slave>()
      let done = 0
      let retried = 0
      let handedOut = 0

      const fresh = (input: I): Item<I> => {
        handedOut++
        return { index: handedOut - 1, input, attempts: 0, lastError: "" }
      }

      /**
       * Fresh items pulled from the source ahead of need (work-stealing): when the source ends
       * within them, the number of items left is known, and batches shrink toward the end.
       */
      let ahead: Array<Item<I>> = []
      let aheadAt = 0
      const aheadSize = () => ahead.length - aheadAt

      /**
       * Up to `n` items to hand out: retried ones first, then fresh ones (from those pulled ahead,
       * then from the source), keeping `lookahead` more pulled ahead when the source has them.
       */
      const takeItems = (n: number, lookahead = 0): Effect.Effect<Array<Item<I>>, E, R> =>
        Effect.suspend(() => {
          const items: Array<Item<I>> = []
          while (items.length < n && retry.length > 0) items.push(retry.shift()!)
          const want = n - items.length + lookahead
          const fill =
            aheadSize() >= want || source.exhausted()
              ? Effect.void
              : // wait for a stream source only when there is nothing to hand out and nothing in
                // flight: otherwise results are coming, and a live stream may be waiting for them
                source.take(
                  want - aheadSize(),
                  (input) => ahead.push(fresh(input)),
                  items.length + aheadSize() === 0 && inFlight === 0
                )
          return Effect.map(fill, () => {
            while (items.length < n && aheadAt < ahead.length) items.push(ahead[aheadAt++]!)
            if (aheadAt === ahead.length) {
              ahead = []
              aheadAt = 0
            } else if (aheadAt > 1024 && aheadAt * 2 > ahead.length) {
              ahead = ahead.slice(aheadAt)
              aheadAt = 0
            }
            return items
          })
        })

      /** how many items are left to hand out, if known */
      const itemsLeft = (): number | undefined => {
        if (source.exhausted()) return aheadSize() + retry.length
        if (known !== undefined) return known - handedOut + aheadSize() + retry.length
        return undefined
      }

      const finished = () => source.exhausted() && aheadSize() === 0 && retry.length === 0 && inFlight === 0

      /** a new batch of `items` (for `slave`, if known); its Work message */
      const openBatch = (items: ReadonlyArray<Item<I>>, slave: Slave | undefined) => {
        const batch: Batch<I> = { id: ids.nextBatch++, items, slave: undefined }
        for (const item of items) item.attempts++
        inFlight += items.length
        batches.set(batch.id, batch)
        if (slave !== undefined) attach(batch, slave)
        return batch
      }
      const attach = (batch: Batch<I>, slave: Slave) => {
        batch.slave = slave
        slave.batches.add(batch.id)
        slave.items += batch.items.length
      }
      /** the batch is no longer live: its items are done, or handed out again */
      const closeBatch = (batch: Batch<I>) => {
        batches.delete(batch.id)
        inFlight -= batch.items.length
        const slave = batch.slave
        if (slave !== undefined) {
          slave.batches.delete(batch.id)
          slave.items -= batch.items.length
        }
      }
      /**
       * The inputs of `items`, encoded as one array. An input its schema refuses fails the job with
       * `InvalidInput` naming it (found by encoding the inputs one by one): no try could succeed.
       */
      const encodeInputs = (items: ReadonlyArray<Item<I>>): Uint8Array | InvalidInput => {
        try {
          return task.task.encodeInputs(items.map((item) => item.input))
        } catch (error) {
          for (const item of items) {
            try {
              task.task.encodeInputs([item.input])
            } catch (itemError) {
              const reason = itemError instanceof Error ? itemError.message : String(itemError)
              return new InvalidInput({
                task: task.name,
                index: item.index,
                input: describeValue(item.input),
                error: reason.split("\n")[0] ?? reason
              })
            }
          }
          throw error
        }
      }
      const sendBatch = (slave: Slave, items: ReadonlyArray<Item<I>>) => {
        const inputs = encodeInputs(items)
        if (inputs instanceof InvalidInput) return Effect.fail(inputs)
        const batch = openBatch(items, slave)
        return Process.send(slave.pid, new Work({ job: jobId, task: task.name, batch: batch.id, inputs }))
      }

      /** an item (out of a closed batch) goes back to the queue, or fails the job once it used all its tries */
      const requeue = (item: Item<I>, error: string): Effect.Effect<void, TaskFailed> => {
        item.lastError = error
        if (item.attempts > retries) {
          return Effect.fail(
            new TaskFailed({
              task: task.name,
              item: item.index,
              input: describeValue(item.input),
              attempts: item.attempts,
              error
            })
          )
        }
        retried++
        retry.push(item)
        return Metric.update(metrics.retried, 1)
      }
      /** every item of a closed batch goes back to the queue */
      const requeueAll = (items: ReadonlyArray<Item<I>>, error: string): Effect.Effect<void, TaskFailed> =>
        Effect.forEach(items, (item) => requeue(item, error), { discard: true })

      /**
       * The in-flight gauge moves by this job's changes (jobs of the same task may run at once), at
       * each turn of the loop; a job that ends takes its items off it, however it ends.
       */
      let inFlightShown = 0
      const showInFlight = (now: number): Effect.Effect<void> => {
        const change = now - inFlightShown
        inFlightShown = now
        return change === 0 ? Effect.void : Metric.modify(metrics.inFlight, change)
      }

      const report = () =>
        job.onProgress === undefined ? Effect.void : job.onProgress({ done, inFlight, retried, slaves: slaves.size })

      const onResults = (r: Results): Effect.Effect<void, TaskFailed> =>
        Effect.gen(function* () {
          if (r.next > 0) {
            const slave = slaves.get(pidKey(r.slave))
            if (slave !== undefined) ask(slave, r.next)
          }
          const batch = batches.get(r.batch)
          if (batch === undefined) return // a duplicate, or its items were handed out again
          closeBatch(batch)
          const items = batch.items
          const failed = new Map<number, string>()
          let whole: string | undefined
          for (const f of r.failed) {
            if (f.index < 0) whole = f.error
            else failed.set(f.index, f.error)
          }
          if (whole !== undefined) return yield* requeueAll(items, whole)
          const decoded = task.task.decodeOutputs(r.outputs)
          const outputs = Option.isSome(decoded) ? (decoded.value as ReadonlyArray<O>) : undefined
          const indices: Array<number> = []
          if (outputs === undefined || outputs.length !== items.length - failed.size) {
            for (let i = 0; i < items.length; i++) {
              const error = failed.get(i)
              yield* requeue(items[i]!, error ?? "the output does not decode")
            }
          } else {
            for (let i = 0; i < items.length; i++) {
              const error = failed.get(i)
              if (error === undefined) indices.push(items[i]!.index)
              else yield* requeue(items[i]!, error)
            }
            done += outputs.length
            if (outputs.length > 0) yield* onOutputs(outputs, indices)
          }
          const perSlave = metrics.of(r.slave.node.address)
          yield* Metric.update(perSlave.done, indices.length)
          if (r.failed.length > 0) yield* Metric.update(perSlave.failed, r.failed.length)
          yield* report()
        })

      const slaveDied = (slave: Slave, reason: string): Effect.Effect<void, TaskFailed> =>
        Effect.gen(function* () {
          slaves.delete(pidKey(slave.pid))
          for (const id of [...slave.batches]) {
            const batch = batches.get(id)
            if (batch === undefined) continue
            closeBatch(batch)
            yield* requeueAll(batch.items, `its slave died (${reason})`)
          }
        })

      // -------------------------------------------------------------------------------------------
      // cleanup: kill every slave, await its death, drain the job's stale messages

      /** spawns asked for and not answered yet: a slave (no batch) or an item process (its batch of one) */
      const pendingSpawns = new Map<number, { readonly node: NodeId; readonly batch: Batch<I> | undefined }>()
      const nodeRefs: Array<MonitorRef> = []
      /** a DidSpawn / SpawnFailed that answers one of this job's spawns */
      const ourSpawn = (d: { readonly ref: { readonly id: number; readonly requester: ProcessId } }) =>
        pendingSpawns.has(d.ref.id) && pidKey(d.ref.requester) === pidKey(me)
      /** take the job's messages of these kinds from the master's mailbox, until none is left */
      const drain = (kinds: ReadonlyArray<Schema.Schema<{ readonly job: number }>>) =>
        Effect.gen(function* () {
          const matchers = kinds.map((kind) =>
            Process.matchIf(
              kind,
              (m) => m.job === jobId,
              () => Effect.void
            )
          )
          while (Option.isSome(yield* Process.receiveTimeout(0, ...matchers))) {}
        })
      yield* Effect.addFinalizer((exit) =>
        Effect.gen(function* () {
          source.close()
          yield* showInFlight(0)
          // a pool keeps its slaves after a job that succeeded (their outstanding requests stay
          // in the mailbox for the next job); otherwise every slave is killed
          const deadline = Duration.seconds(10)
          /** one answer to a spawn, or a slave's death; an answered slave is watched, and killed with `kill` */
          const settleOne = (kill: boolean) =>
            Process.receiveWait(
              Process.matchIf(
                ProcessMonitorNotification,
                (n) => slaves.has(pidKey(n.pid)),
                (n) => Effect.sync(() => slaves.delete(pidKey(n.pid)))
              ),
              Process.matchIf(DidSpawn, ourSpawn, (d) =>
                Effect.gen(function* () {
                  const pending = pendingSpawns.get(d.ref.id)!
                  pendingSpawns.delete(d.ref.id)
                  // watched first, so a killing loop also waits for its death
                  yield* watchSlave(d.pid, pending.node)
                  if (kill) yield* Process.kill(d.pid, "the pattern is done")
                })
              ),
              Process.matchIf(SpawnFailed, ourSpawn, (d) => Effect.sync(() => pendingSpawns.delete(d.ref.id))),
              Process.matchIf(
                NodeMonitorNotification,
                (n) => nodeRefs.some((r) => r.id === n.ref.id),
                (n) =>
                  Effect.sync(() => {
                    for (const [id, p] of pendingSpawns) if (p.node.address === n.node.address) pendingSpawns.delete(id)
                  })
              )
            )
          if (pool !== undefined && exit._tag === "Success" && strategy._tag !== "masterSlave") {
            // a slave still starting (the job ended before its spawn was answered) is kept too,
            // not left running unknown to the pool
            yield* Effect.gen(function* () {
              while (pendingSpawns.size > 0) yield* settleOne(false)
            }).pipe(Effect.timeoutOption(deadline))
            for (const ref of nodeRefs) yield* Process.unmonitor(ref)
            // a wake-up the stream sent after the master had seen its end
            yield* drain([InputsReady])
            return
          }
          for (const slave of slaves.values()) yield* Process.kill(slave.pid, "the pattern is done")
          // a master that is itself dead (a pool's, killed from outside) has no mailbox to wait on
          // (its slaves, linked to it, die with it)
          const alive = yield* withState((s) => s.alive)
          yield* Effect.gen(function* () {
            while (alive && (slaves.size > 0 || pendingSpawns.size > 0)) yield* settleOne(true)
          }).pipe(Effect.timeoutOption(deadline))
          for (const ref of nodeRefs) yield* Process.unmonitor(ref)
          // results and requests the slaves sent before they died
          yield* drain([Results, Request, InputsReady])
        })
      )

      // -------------------------------------------------------------------------------------------
      // strategies

      const watchSlave = (pid: ProcessId, node: NodeId): Effect.Effect<Slave, never, Process.Process> =>
        Effect.map(Process.monitor(pid), (ref) => {
          const slave: Slave = { pid, ref, node, batches: new Set(), items: 0, requests: 0, requested: 0 }
          slaves.set(pidKey(pid), slave)
          return slave
        })

      /**
       * Ask for a slave on each node (a pool's nodes that still have one keep it). The spawns are
       * asynchronous and tracked from the start, so a pattern interrupted while its slaves start
       * still finds and kills every one of them; the node monitors turn an unreachable node into a
       * failed spawn instead of a wait.
       */
      const startSlaves = (closure: (node: NodeId) => Remote.Closure) =>
        Effect.gen(function* () {
          // a pool's slaves that died since its last job: their notices wait in the mailbox
          while (pool !== undefined && pool.slaves.size > 0) {
            const dead = yield* Process.receiveTimeout(
              0,
              Process.matchIf(
                ProcessMonitorNotification,
                (n) => slaves.has(pidKey(n.pid)),
                (n) => Effect.sync(() => slaves.delete(pidKey(n.pid)))
              )
            )
            if (Option.isNone(dead)) break
          }
          for (const node of job.nodes) {
            nodeRefs.push(yield* Process.monitorNode(node))
            liveNodes.set(node.address, node)
          }
          const missing = job.nodes.filter((node) => ![...slaves.values()].some((s) => s.node.address === node.address))
          for (const node of missing) {
            const ref = yield* Remote.spawnAsync(node, closure(node))
            pendingSpawns.set(ref.id, { node, batch: undefined })
          }
        })

      const noSlaves = () => {
        const left = itemsLeft()
        return new NoSlavesLeft({
          task: task.name,
          pending: inFlight + (left ?? retry.length + aheadSize()),
          unread: left === undefined && !source.exhausted()
        })
      }

      /** work-stealing: serve the slaves that asked */
      const serveRequests = (cap: number) =>
        Effect.gen(function* () {
          // the slaves that share the work: those still starting count too (the first to start
          // would otherwise get the shares of all)
          const workers = slaves.size + pendingSpawns.size
          for (const slave of slaves.values()) {
            while (slave.requests > 0) {
              let n = Math.max(1, Math.min(slave.requested, cap))
              // pull ahead a few batches' worth, so the end of the inputs is seen coming
              const lookahead = 2 * workers * n
              if (aheadSize() < n + lookahead) yield* takeItems(0, n + lookahead)
              const left = itemsLeft()
              if (left !== undefined) {
                // the last few items go to slaves with nothing to do, not ahead to a busy one
                // (which would leave another idle at the end while it works through them)
                if (slave.items > 0 && workers > 1 && left < 2 * workers) break
                // guided: never more than a share of what is left, so the tail stays balanced
                n = Math.max(1, Math.min(n, Math.ceil(left / (2 * workers))))
              }
              const items = yield* takeItems(n, lookahead)
              if (items.length === 0) break
              slave.requests--
              yield* sendBatch(slave, items)
            }
            if (slave.requests > 0 && slave.items === 0 && !idleTold.has(pidKey(slave.pid))) {
              idleTold.add(pidKey(slave.pid))
              yield* Process.send(slave.pid, new NoWork({ job: jobId }))
            }
          }
        })
      const idleTold = new Set<string>()

      /** work-pushing: fill every slave's window, in turn */
      let rotation = 0
      const fillWindows = (window: number) =>
        Effect.gen(function* () {
          const list = [...slaves.values()]
          let progress = true
          while (progress && list.length > 0) {
            progress = false
            for (let i = 0; i < list.length; i++) {
              const slave = list[(rotation + i) % list.length]!
              if (slave.items >= window) continue
              const items = yield* takeItems(1)
              if (items.length === 0) return
              yield* sendBatch(slave, items)
              progress = true
            }
            rotation++
          }
        })

      /** master-slave: one process per item, at most `concurrency` at once, round-robin on nodes */
      const liveNodes = new Map<string, NodeId>()
      let nodeTurn = 0
      const spawnItems = (concurrency: number) =>
        Effect.gen(function* () {
          while (slaves.size + pendingSpawns.size < concurrency && liveNodes.size > 0) {
            const items = yield* takeItems(1)
            if (items.length === 0) return
            // the least loaded node (item processes alive or being spawned), in turn on ties: a node
            // that runs slower gets fewer items instead of holding every slot
            const load = new Map<string, number>()
            for (const s of slaves.values()) load.set(s.node.address, (load.get(s.node.address) ?? 0) + 1)
            for (const p of pendingSpawns.values()) load.set(p.node.address, (load.get(p.node.address) ?? 0) + 1)
            const nodes = [...liveNodes.values()]
            let node = nodes[nodeTurn++ % nodes.length]!
            for (const candidate of nodes) {
              if ((load.get(candidate.address) ?? 0) < (load.get(node.address) ?? 0)) node = candidate
            }
            const input = encodeInputs(items)
            if (input instanceof InvalidInput) return yield* input
            const batch = openBatch(items, undefined)
            const ref = yield* Remote.spawnAsync(
              node,
              itemClosure(new ItemEnv({ master: me, job: jobId, task: task.name, batch: batch.id, input }))
            )
            pendingSpawns.set(ref.id, { node, batch })
          }
        })

      // -------------------------------------------------------------------------------------------
      // the loop

      switch (strategy._tag) {
        case "steal":
          yield* startSlaves(() =>
            stealClosure(
              new StealEnv({
                master: me,
                job: jobId,
                prefetch: strategy.prefetch,
                batch: strategy.batch,
                targetMillis: strategy.targetMillis
              })
            )
          )
          break
        case "push":
          yield* startSlaves(() => pushClosure(new PushEnv({ master: me, job: jobId })))
          break
        case "masterSlave":
          for (const node of job.nodes) {
            nodeRefs.push(yield* Process.monitorNode(node))
            liveNodes.set(node.address, node)
          }
          break
      }

      const slaveFor = (pid: ProcessId) => slaves.get(pidKey(pid))
      /** work-stealing: a slave asks for a batch of up to `n` items */
      const ask = (slave: Slave, n: number) => {
        slave.requests++
        slave.requested = n
      }
      while (true) {
        switch (strategy._tag) {
          case "steal":
            yield* serveRequests(strategy.batch > 0 ? strategy.batch : 1 << 20)
            break
          case "push":
            yield* fillWindows(strategy.window)
            break
          case "masterSlave":
            yield* spawnItems(strategy.concurrency)
            break
        }
        if (finished()) break
        yield* showInFlight(inFlight)
        if (
          strategy._tag === "masterSlave"
            ? liveNodes.size === 0 && slaves.size === 0 && pendingSpawns.size === 0
            : slaves.size === 0 && pendingSpawns.size === 0
        ) {
          // an array with nothing left needs no slave (an iterable or a Stream is not read here:
          // reading may take an input from the caller's iterator, or wait on a live Stream)
          if (itemsLeft() === 0 && inFlight === 0) break
          return yield* noSlaves()
        }
        yield* Process.receiveWait(
          Process.matchIf(
            Results,
            (r) => r.job === jobId,
            (r) => onResults(r)
          ),
          Process.matchIf(
            Request,
            (r) => r.job === jobId,
            (r) =>
              Effect.sync(() => {
                const slave = slaveFor(r.slave)
                if (slave !== undefined) ask(slave, r.n)
              })
          ),
          // the stream has inputs again: hand them out (the loop's next turn)
          Process.matchIf(
            InputsReady,
            (r) => r.job === jobId,
            () => Effect.void
          ),
          Process.matchIf(
            ProcessMonitorNotification,
            (n) => slaves.has(pidKey(n.pid)),
            (n) => {
              const slave = slaveFor(n.pid)!
              // a normal exit of an item process after its result is the expected end
              if (strategy._tag === "masterSlave" && n.reason._tag === "DiedNormal" && slave.items === 0) {
                return Effect.sync(() => slaves.delete(pidKey(n.pid)))
              }
              return slaveDied(slave, n.reason._tag === "DiedException" ? n.reason.error : n.reason._tag)
            }
          ),
          Process.matchIf(DidSpawn, ourSpawn, (d) =>
            Effect.gen(function* () {
              const pending = pendingSpawns.get(d.ref.id)!
              pendingSpawns.delete(d.ref.id)
              const slave = yield* watchSlave(d.pid, pending.node)
              // the batch is this process's if it is still live (its result may have come first)
              const batch = pending.batch
              if (batch !== undefined && batches.get(batch.id) === batch) attach(batch, slave)
            })
          ),
          Process.matchIf(SpawnFailed, ourSpawn, (d) => {
            const pending = pendingSpawns.get(d.ref.id)!
            pendingSpawns.delete(d.ref.id)
            const batch = pending.batch
            if (batch === undefined) return Effect.logWarning(`no slave on ${pending.node}: ${d.reason}`)
            if (batches.get(batch.id) !== batch) return Effect.void
            closeBatch(batch)
            return requeueAll(batch.items, `spawn failed: ${d.reason}`)
          }),
          Process.matchIf(
            NodeMonitorNotification,
            (n) => liveNodes.has(n.node.address),
            (n) =>
              Effect.gen(function* () {
                liveNodes.delete(n.node.address)
                for (const [id, p] of pendingSpawns) {
                  if (p.node.address !== n.node.address) continue
                  pendingSpawns.delete(id)
                  const batch = p.batch
                  if (batch !== undefined && batches.get(batch.id) === batch) {
                    closeBatch(batch)
                    yield* requeueAll(batch.items, `its node is unreachable (${n.reason._tag})`)
                  }
                }
              })
          )
        )
      }
    })
  )

/** `runJob` folding the outputs with a reducer */
export const reduceJob = <I, O, A, E, R>(
  job: Job<I, O, E, R>,
  strategy: Strategy,
  reducer: Reducer<O, A>,
  pool?: Pool
): Effect.Effect<A, PatternError | E, R | Process.Process> =>
  Effect.suspend(() => {
    let acc = reducer.initial
    return Effect.as(
      runJob(
        job,
        strategy,
        (outputs) =>
          Effect.sync(() => {
            for (const o of outputs) acc = reducer.combine(acc, o)
          }),
        pool
      ),
      undefined
    ).pipe(Effect.map(() => acc))
  })

/**
 * `runJob` with the outputs as a Stream (bounded buffer: a slow consumer slows the job down). `run`
 * runs the job (as a process, with a pool's state or none), when the stream starts.
 */
export const streamJob = <I, O, E, R, R2 = Process.Process>(
  job: Job<I, O, E, R>,
  strategy: Strategy,
  run: <A, E2>(
    jobWith: (pool: Pool | undefined) => Effect.Effect<A, E2, R | Process.Process>
  ) => Effect.Effect<A, E2, R | R2> = (jobWith) => jobWith(undefined) as never
): Stream.Stream<O, PatternError | E, R | R2> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const queue = yield* Queue.bounded<O, PatternError | E | Cause.Done>(1024)
      yield* Effect.forkScoped(
        run((pool) => runJob(job, strategy, (outputs) => Effect.asVoid(Queue.offerAll(queue, outputs)), pool)).pipe(
          Effect.matchCauseEffect({
            onSuccess: () => Queue.end(queue),
            onFailure: (cause) => Queue.failCause(queue, cause)
          })
        )
      )
      return Stream.fromQueue(queue)
    })
  )
