/**
 * The master side of the three patterns: one loop, three ways of handing out work.
 *
 * - an item source pulled lazily (an iterable or a Stream: never materialised);
 * - a tracker of the items in flight (by id; the first result of an item counts, later ones are
 *   ignored, so every item is counted exactly once even when it was retried);
 * - retries (a failed item, or the items of a slave that died, go back to the queue) and typed
 *   failures (`TaskFailed` naming the item, `NoSlavesLeft` instead of a hang);
 * - cleanup: whatever way the pattern ends, every slave process it started is killed and its death
 *   awaited, and stale messages of the job are drained from the master's mailbox.
 * @internal
 */
import { Cause, Duration, Effect, Metric, Option, Queue, Stream } from "effect"
import type { NodeId } from "../../NodeId.ts"
import { type MonitorRef, NodeMonitorNotification, ProcessMonitorNotification } from "../../Notification.ts"
import * as Process from "../../Process.ts"
import { type ProcessId, key as pidKey } from "../../ProcessId.ts"
import * as Remote from "../../Remote.ts"
import type { Task } from "../../Task.ts"
import { DidSpawn, SpawnFailed } from "../closure.ts"
import { withState } from "../context.ts"
import { NoSlavesLeft, NoWork, type Packed, pack, Request, Results, TaskFailed, unpack, Work } from "./messages.ts"
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
  /** the inputs: an iterable or a Stream, pulled as work is handed out */
  readonly inputs: Iterable<I> | Stream.Stream<I, E, R>
  /** the slave nodes */
  readonly nodes: ReadonlyArray<NodeId>
  /** how many times a failed item is tried again before the pattern fails (default 3) */
  readonly retries?: number | undefined
  /** called as items complete */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
}

export type Strategy =
  | { readonly _tag: "steal"; readonly prefetch: boolean; readonly batch: number; readonly targetMillis: number }
  | { readonly _tag: "push"; readonly window: number }
  | { readonly _tag: "masterSlave"; readonly concurrency: number }

const itemsDone = Metric.counter("cloud_effect_items_done", { description: "items completed by the patterns" })
const itemsRetried = Metric.counter("cloud_effect_items_retried", { description: "items handed out again" })
const itemsFailed = Metric.counter("cloud_effect_items_failed", { description: "item attempts that failed" })
const itemsInFlight = Metric.gauge("cloud_effect_items_in_flight", { description: "items handed out, not done" })

interface Item<I> {
  readonly id: number
  /** its position in the job's inputs */
  readonly index: number
  readonly input: I
  readonly bytes: Uint8Array
  attempts: number
  lastError: string
}

/**
 * The state a `WorkPool` keeps between jobs: its slaves stay up, and item ids keep counting (so a
 * late duplicate of an earlier job's item is never taken for an item of the current one).
 */
export interface Pool {
  readonly job: number
  readonly slaves: Map<string, Slave>
  nextId: number
}

/** a new pool state */
export const makePool = (): Pool => ({ job: Math.floor(Math.random() * 0x7fffffff), slaves: new Map(), nextId: 0 })

export interface Slave {
  readonly pid: ProcessId
  readonly ref: MonitorRef
  readonly node: NodeId
  /** ids of items handed to it and not done */
  readonly items: Set<number>
  /** work-stealing: the size of its outstanding request, 0 if none */
  requested: number
  /** master-slave: the one item it runs */
  item?: number
}

const isStream = <I, E, R>(inputs: Iterable<I> | Stream.Stream<I, E, R>): inputs is Stream.Stream<I, E, R> =>
  Stream.isStream(inputs)

/** pull inputs one by one from an iterable or a Stream */
const makeSource = <I, E, R>(inputs: Iterable<I> | Stream.Stream<I, E, R>) =>
  Effect.gen(function* () {
    if (!isStream(inputs)) {
      const iterator = inputs[Symbol.iterator]()
      let exhausted = false
      return {
        next: Effect.sync((): Option.Option<I> => {
          if (exhausted) return Option.none()
          const r = iterator.next()
          if (r.done) {
            exhausted = true
            return Option.none()
          }
          return Option.some(r.value)
        }),
        exhausted: () => exhausted
      }
    }
    const pull = yield* Stream.toPull(inputs)
    let buffer: ReadonlyArray<I> = []
    let index = 0
    let exhausted = false
    return {
      next: Effect.suspend((): Effect.Effect<Option.Option<I>, E, R> => {
        if (index < buffer.length) return Effect.succeed(Option.some(buffer[index++]!))
        if (exhausted) return Effect.succeed(Option.none())
        return pull.pipe(
          Effect.map((chunk) => {
            buffer = chunk
            index = 1
            return Option.some(chunk[0])
          }),
          Effect.catchCause((cause) => {
            if (
              !Cause.hasInterruptsOnly(cause) &&
              cause.reasons.some((r) => r._tag === "Fail" && Cause.isDone(r.error))
            ) {
              exhausted = true
              return Effect.succeed(Option.none<I>())
            }
            return Effect.failCause(cause as Cause.Cause<E>)
          })
        ) as Effect.Effect<Option.Option<I>, E, R>
      }),
      exhausted: () => exhausted && index >= buffer.length
    }
  })

const describeInput = (input: unknown): string => {
  let s: string
  if (typeof input === "string") s = JSON.stringify(input)
  else if (typeof input === "object" && input !== null && (input.constructor === Object || Array.isArray(input))) {
    try {
      s = JSON.stringify(input, (_, v) => (typeof v === "bigint" ? `${v}n` : v))
    } catch {
      s = String(input)
    }
  } else s = String(input)
  return s.length > 200 ? `${s.slice(0, 200)}…` : s
}

/**
 * Run a job with a strategy; each output is given to `onOutput` (in completion order).
 */
export const runJob = <I, O, E, R>(
  job: Job<I, O, E, R>,
  strategy: Strategy,
  onOutput: (output: O, index: number) => Effect.Effect<void>,
  pool?: Pool
): Effect.Effect<void, TaskFailed | NoSlavesLeft | E, R | Process.Process> =>
  Effect.scoped(
    Effect.gen(function* () {
      const task = job.task
      const retries = job.retries ?? 3
      const me = yield* Process.self
      const jobId = pool?.job ?? Math.floor(Math.random() * 0x7fffffff)
      const ids = pool ?? { nextId: 0 }
      const source = yield* makeSource(job.inputs)
      const known = Array.isArray(job.inputs) ? job.inputs.length : undefined
      const retry: Array<Item<I>> = []
      const inFlight = new Map<number, Item<I>>()
      const slaves = pool?.slaves ?? new Map<string, Slave>()
      let done = 0
      let retried = 0
      let handedOut = 0

      /** the next item to hand out: a retried one first, then a fresh one from the source */
      const takeItem: Effect.Effect<Item<I> | undefined, E, R> = Effect.suspend(() => {
        const again = retry.shift()
        if (again !== undefined) return Effect.succeed(again)
        return Effect.map(source.next, (input) => {
          if (Option.isNone(input)) return undefined
          handedOut++
          return {
            id: ids.nextId++,
            index: handedOut - 1,
            input: input.value,
            bytes: task.task.encodeInput(input.value),
            attempts: 0,
            lastError: ""
          }
        })
      })

      const finished = () => source.exhausted() && retry.length === 0 && inFlight.size === 0

      const assign = (slave: Slave, item: Item<I>) => {
        item.attempts++
        inFlight.set(item.id, item)
        slave.items.add(item.id)
      }

      /** an item goes back to the queue, or fails the job once it used all its tries */
      const requeue = (item: Item<I>, error: string): Effect.Effect<void, TaskFailed> => {
        inFlight.delete(item.id)
        item.lastError = error
        if (item.attempts > retries) {
          return Effect.fail(
            new TaskFailed({
              task: task.name,
              item: item.id,
              input: describeInput(item.input),
              attempts: item.attempts,
              error
            })
          )
        }
        retried++
        retry.push(item)
        return Metric.update(Metric.withAttributes(itemsRetried, { task: task.name }), 1)
      }

      const report = () =>
        job.onProgress === undefined
          ? Effect.void
          : job.onProgress({ done, inFlight: inFlight.size, retried, slaves: slaves.size })

      const onResults = (r: Results): Effect.Effect<void, TaskFailed> =>
        Effect.gen(function* () {
          const slave = slaves.get(pidKey(r.slave))
          const outputs = unpack(r.done)
          for (const d of outputs) {
            slave?.items.delete(d.id)
            const item = inFlight.get(d.id)
            if (item === undefined) continue // a duplicate: the item was already counted
            const output = task.task.decodeOutput(d.bytes)
            if (Option.isNone(output)) {
              yield* requeue(item, "the output does not decode")
              continue
            }
            inFlight.delete(d.id)
            done++
            yield* onOutput(output.value as O, item.index)
          }
          for (const f of r.failed) {
            slave?.items.delete(f.id)
            const item = inFlight.get(f.id)
            if (item !== undefined) yield* requeue(item, f.error)
          }
          const attributes = { task: task.name, slave: r.slave.node.address }
          yield* Metric.update(Metric.withAttributes(itemsDone, attributes), outputs.length)
          if (r.failed.length > 0) yield* Metric.update(Metric.withAttributes(itemsFailed, attributes), r.failed.length)
          yield* Metric.update(Metric.withAttributes(itemsInFlight, { task: task.name }), inFlight.size)
          yield* report()
        })

      const slaveDied = (slave: Slave, reason: string): Effect.Effect<void, TaskFailed> =>
        Effect.gen(function* () {
          slaves.delete(pidKey(slave.pid))
          for (const id of slave.items) {
            const item = inFlight.get(id)
            if (item !== undefined) yield* requeue(item, `its slave died (${reason})`)
          }
        })

      // -------------------------------------------------------------------------------------------
      // cleanup: kill every slave, await its death, drain the job's stale messages

      /** spawns asked for and not answered yet: a slave (no item) or an item process (its attempt) */
      const pendingSpawns = new Map<
        number,
        { readonly node: NodeId; readonly item: Item<I> | undefined; readonly attempt: number }
      >()
      const nodeRefs: Array<MonitorRef> = []
      /** a DidSpawn / SpawnFailed that answers one of this job's spawns */
      const ourSpawn = (d: { readonly ref: { readonly id: number; readonly requester: ProcessId } }) =>
        pendingSpawns.has(d.ref.id) && pidKey(d.ref.requester) === pidKey(me)
      yield* Effect.addFinalizer((exit) =>
        Effect.gen(function* () {
          // a pool keeps its slaves after a job that succeeded (their outstanding requests stay
          // in the mailbox for the next job); otherwise every slave is killed
          if (pool !== undefined && exit._tag === "Success" && strategy._tag !== "masterSlave") {
            for (const ref of nodeRefs) yield* Process.unmonitor(ref)
            return
          }
          for (const slave of slaves.values()) yield* Process.kill(slave.pid, "the pattern is done")
          const deadline = Duration.seconds(10)
          // a master that is itself dead (a pool's, killed from outside) has no mailbox to wait on
          // (its slaves, linked to it, die with it)
          const alive = yield* withState((s) => s.alive)
          yield* Effect.gen(function* () {
            while (alive && (slaves.size > 0 || pendingSpawns.size > 0)) {
              yield* Process.receiveWait(
                Process.matchIf(
                  ProcessMonitorNotification,
                  (n) => slaves.has(pidKey(n.pid)),
                  (n) => Effect.sync(() => slaves.delete(pidKey(n.pid)))
                ),
                Process.matchIf(DidSpawn, ourSpawn, (d) =>
                  Effect.gen(function* () {
                    const pending = pendingSpawns.get(d.ref.id)!
                    pendingSpawns.delete(d.ref.id)
                    // watched first, so this loop also waits for its death
                    yield* watchSlave(d.pid, pending.node)
                    yield* Process.kill(d.pid, "the pattern is done")
                  })
                ),
                Process.matchIf(SpawnFailed, ourSpawn, (d) => Effect.sync(() => pendingSpawns.delete(d.ref.id))),
                Process.matchIf(
                  NodeMonitorNotification,
                  (n) => nodeRefs.some((r) => r.id === n.ref.id),
                  (n) =>
                    Effect.sync(() => {
                      for (const [id, p] of pendingSpawns)
                        if (p.node.address === n.node.address) pendingSpawns.delete(id)
                    })
                )
              )
            }
          }).pipe(Effect.timeoutOption(deadline))
          for (const ref of nodeRefs) yield* Process.unmonitor(ref)
          // results and requests the slaves sent before they died
          while (
            Option.isSome(
              yield* Process.receiveTimeout(
                0,
                Process.matchIf(
                  Results,
                  (r) => r.job === jobId,
                  () => Effect.void
                ),
                Process.matchIf(
                  Request,
                  (r) => r.job === jobId,
                  () => Effect.void
                )
              )
            )
          ) {}
        })
      )

      // -------------------------------------------------------------------------------------------
      // strategies

      const watchSlave = (pid: ProcessId, node: NodeId): Effect.Effect<Slave, never, Process.Process> =>
        Effect.map(Process.monitor(pid), (ref) => {
          const slave: Slave = { pid, ref, node, items: new Set(), requested: 0 }
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
            pendingSpawns.set(ref.id, { node, item: undefined, attempt: 0 })
          }
        })

      const noSlaves = () => new NoSlavesLeft({ task: task.name, pending: inFlight.size + retry.length })

      /** work-stealing: serve the slaves that asked */
      const serveRequests = (cap: number) =>
        Effect.gen(function* () {
          for (const slave of slaves.values()) {
            if (slave.requested === 0) continue
            let n = Math.min(slave.requested, cap)
            if (known !== undefined) {
              // guided: never more than a share of what is left, so the tail stays balanced
              const left = known - handedOut + retry.length
              n = Math.max(1, Math.min(n, Math.ceil(left / (2 * slaves.size))))
            }
            const items: Array<Packed> = []
            while (items.length < n) {
              const item = yield* takeItem
              if (item === undefined) break
              assign(slave, item)
              items.push({ id: item.id, bytes: item.bytes })
            }
            if (items.length > 0) {
              slave.requested = 0
              yield* Process.send(slave.pid, new Work({ job: jobId, task: task.name, items: pack(items) }))
            } else if (slave.requested > 0 && slave.items.size === 0 && !idleTold.has(pidKey(slave.pid))) {
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
              if (slave.items.size >= window) continue
              const item = yield* takeItem
              if (item === undefined) return
              assign(slave, item)
              yield* Process.send(
                slave.pid,
                new Work({ job: jobId, task: task.name, items: pack([{ id: item.id, bytes: item.bytes }]) })
              )
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
            const item = yield* takeItem
            if (item === undefined) return
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
            item.attempts++
            inFlight.set(item.id, item)
            const ref = yield* Remote.spawnAsync(
              node,
              itemClosure(new ItemEnv({ master: me, job: jobId, task: task.name, item: item.id, input: item.bytes }))
            )
            pendingSpawns.set(ref.id, { node, item, attempt: item.attempts })
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
        if (strategy._tag === "masterSlave") {
          if (liveNodes.size === 0 && slaves.size === 0 && pendingSpawns.size === 0) return yield* noSlaves()
        } else if (slaves.size === 0 && pendingSpawns.size === 0) {
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
                if (slave !== undefined) slave.requested = r.n
              })
          ),
          Process.matchIf(
            ProcessMonitorNotification,
            (n) => slaves.has(pidKey(n.pid)),
            (n) => {
              const slave = slaveFor(n.pid)!
              // a normal exit of an item process after its result is the expected end
              if (strategy._tag === "masterSlave" && n.reason._tag === "DiedNormal" && slave.items.size === 0) {
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
              const item = pending.item
              // the item is this process's only if it is still on the attempt it was spawned for
              // (a fast failure may have requeued and respawned it before this reply came)
              if (item !== undefined && inFlight.get(item.id) === item && item.attempts === pending.attempt) {
                slave.items.add(item.id)
              }
            })
          ),
          Process.matchIf(SpawnFailed, ourSpawn, (d) => {
            const pending = pendingSpawns.get(d.ref.id)!
            pendingSpawns.delete(d.ref.id)
            const item = pending.item
            if (item === undefined) return Effect.logWarning(`no slave on ${pending.node}: ${d.reason}`)
            if (inFlight.get(item.id) !== item || item.attempts !== pending.attempt) return Effect.void
            return requeue(item, `spawn failed: ${d.reason}`)
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
                  const item = p.item
                  if (item !== undefined && inFlight.get(item.id) === item && item.attempts === p.attempt) {
                    yield* requeue(item, `its node is unreachable (${n.reason._tag})`)
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
): Effect.Effect<A, TaskFailed | NoSlavesLeft | E, R | Process.Process> =>
  Effect.suspend(() => {
    let acc = reducer.initial
    return Effect.as(
      runJob(
        job,
        strategy,
        (o) =>
          Effect.sync(() => {
            acc = reducer.combine(acc, o)
          }),
        pool
      ),
      undefined
    ).pipe(Effect.map(() => acc))
  })

/** `runJob` with the outputs as a Stream (bounded buffer: a slow consumer slows the job down) */
export const streamJob = <I, O, E, R, R2 = Process.Process>(
  job: Job<I, O, E, R>,
  strategy: Strategy,
  pool?: Pool,
  wrap: <A, E2>(effect: Effect.Effect<A, E2, R | Process.Process>) => Effect.Effect<A, E2, R | R2> = (effect) =>
    effect as never
): Stream.Stream<O, TaskFailed | NoSlavesLeft | E, R | R2> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const queue = yield* Queue.bounded<O, TaskFailed | NoSlavesLeft | E | Cause.Done>(1024)
      yield* Effect.forkScoped(
        wrap(runJob(job, strategy, (o) => Effect.asVoid(Queue.offer(queue, o)), pool)).pipe(
          Effect.matchCauseEffect({
            onSuccess: () => Queue.end(queue),
            onFailure: (cause) => Queue.failCause(queue, cause)
          })
        )
      )
      return Stream.fromQueue(queue)
    })
  )
