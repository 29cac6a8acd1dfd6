/**
 * Property tests of the three patterns (master-slave, work-pushing, work-stealing) on the in-memory
 * transport. For each pattern, with random inputs, slave counts, per-item costs and pattern options:
 *
 * 1. the result equals the sequential fold, and every item is counted exactly once (the task's
 *    output names its item, the reducer tallies a multiset);
 * 2. under a random crash schedule (slave processes killed, slave nodes disconnected, at random
 *    points of the job's progress) the result stays exact while one slave node is untouched; when
 *    every slave is gone the pattern fails with `NoSlavesLeft` (typed, never a hang);
 * 3. after every run, success or failure, no process of the pattern is left on any node (checked
 *    from inside the master process, right after the pattern returned: the links of the slaves to
 *    their master do not help);
 * 4. an interrupted run (the run's fiber interrupted midway) leaves no process on any node;
 * 5. an item that fails on every try fails the pattern with `TaskFailed` naming it (index and
 *    input) after `retries + 1` attempts; items that fail only on their first try still give the
 *    exact result.
 *
 * The tasks sleep on the real clock: the properties use `it.live`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Option, Schema, Stream } from "effect"
import {
  MasterSlave,
  Node,
  Process,
  type ProcessId,
  Remote,
  Task,
  Transport,
  WorkPushing,
  WorkStealing
} from "../src/index.ts"
import { runOn } from "./helpers.ts"

// -----------------------------------------------------------------------------------------------
// tasks (module level: every node of a run gets them through its RemoteTable)

const Item = Schema.Struct({
  index: Schema.Int,
  value: Schema.Int,
  /** milliseconds to sleep */
  sleep: Schema.Int,
  /** thousands of loop iterations of CPU to burn */
  spin: Schema.Int
})
type Item = typeof Item.Type
const Out = Schema.Struct({ index: Schema.Int, value: Schema.Int })
type Out = typeof Out.Type

/** what the tasks compute from an input value */
const f = (value: number) => value * 31 + 7

/** burn some CPU; the result is non-negative (and used, so the loop stays) */
const burn = (thousands: number) => {
  let x = 0
  for (let i = 0; i < thousands * 1000; i++) x = (x + i * 7) % 1_000_003
  return x
}

/** the output names its item */
const work = Task.define("test/patterns-properties/work", Item, Out, (item) =>
  Effect.gen(function* () {
    if (item.sleep > 0) yield* Effect.sleep(`${item.sleep} millis`)
    const burnt = item.spin > 0 ? burn(item.spin) : 0
    return { index: item.index, value: burnt < 0 ? Number.NaN : f(item.value) }
  })
)

class FirstTry extends Schema.TaggedError<FirstTry>()("FirstTry", { key: Schema.String }) {}
const FlakyItem = Schema.Struct({ run: Schema.Int, index: Schema.Int, value: Schema.Int, sleep: Schema.Int })
/** tries per item, keyed by run and index */
const flakyTries = new Map<string, number>()
/**
 * Fails the first try of every item; sleeps `sleep` ms before failing (odd indices) or before
 * succeeding on a later try (even indices): the first try ends at once, or the next one takes time.
 */
const flaky = Task.define("test/patterns-properties/flaky", FlakyItem, Out, (item) =>
  Effect.gen(function* () {
    const key = `${item.run}:${item.index}`
    const tries = (flakyTries.get(key) ?? 0) + 1
    flakyTries.set(key, tries)
    if (item.sleep > 0 && (tries === 1) === (item.index % 2 === 1)) yield* Effect.sleep(`${item.sleep} millis`)
    if (tries === 1) return yield* new FirstTry({ key })
    return { index: item.index, value: f(item.value) }
  })
)

class Poisoned extends Schema.TaggedError<Poisoned>()("Poisoned", { n: Schema.Int }) {}
/** the inputs `poison` fails on, every time */
const poisoned = new Set<number>()
/** tries per poisoned input */
const poisonTries = new Map<number, number>()
const poison = Task.define("test/patterns-properties/poison", Schema.Int, Schema.Int, (n) =>
  Effect.suspend(() => {
    if (!poisoned.has(n)) return Effect.succeed(f(n))
    poisonTries.set(n, (poisonTries.get(n) ?? 0) + 1)
    return Effect.fail(new Poisoned({ n }))
  })
)

const Labelled = Schema.Struct({ label: Schema.String, n: Schema.Int })
/** fails on every input */
const poisonLabelled = Task.define("test/patterns-properties/poisonLabelled", Labelled, Schema.Int, (input) =>
  Effect.fail(new Poisoned({ n: input.n }))
)

const table = Remote.table(work, flaky, poison, poisonLabelled)
const env = () => Layer.merge(Transport.layerMemory, table)

/** the in-memory transport with every frame delayed by `ms` */
const layerLatency = (ms: number) => Transport.layerMemoryWith({ latency: ms })
const envLatency = (ms: number) => (ms === 0 ? env() : Layer.merge(layerLatency(ms), table))

/** a fresh number per property run (module-level maps are keyed by it) */
let runCounter = 0

// -----------------------------------------------------------------------------------------------
// shared helpers

const intBetween = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
const arrayBetween = <S extends Schema.Top>(item: S, min: number, max: number) =>
  Schema.Array(item).check(Schema.isBetweenLength(min, max))

const config = (runs: number) => ({ timeout: 30_000, arbitrary: { runs, size: 200, maxShrinks: 20 } })

const patterns = ["master-slave", "work-pushing", "work-stealing"] as const
type PatternName = (typeof patterns)[number]

/** the pattern options, all drawn at random (each pattern reads its own) */
const Knobs = Schema.Struct({
  window: intBetween(1, 4),
  prefetch: Schema.Boolean,
  /** 0: adaptive batches */
  batch: intBetween(0, 6),
  targetMillis: intBetween(1, 20),
  concurrency: intBetween(1, 8)
})
type Knobs = typeof Knobs.Type

interface Job<I, O, A> {
  readonly task: Task.Task<I, O>
  readonly inputs: Iterable<I> | Stream.Stream<I>
  readonly nodes: ReadonlyArray<Node.NodeService["nodeId"]>
  readonly reduce: MasterSlave.Reducer<O, A>
  readonly retries?: number | undefined
}

/** run one of the patterns with the call shape they share, plus its own options */
const runPattern = <I, O, A>(
  pattern: PatternName,
  job: Job<I, O, A>,
  knobs: Knobs
): Effect.Effect<A, MasterSlave.PatternError, Process.Process> => {
  switch (pattern) {
    case "master-slave":
      return MasterSlave.run({ ...job, concurrency: knobs.concurrency })
    case "work-pushing":
      return WorkPushing.run({ ...job, window: knobs.window })
    case "work-stealing":
      return WorkStealing.run({
        ...job,
        prefetch: knobs.prefetch,
        batch: knobs.batch === 0 ? undefined : knobs.batch,
        targetMillis: knobs.targetMillis
      })
  }
}

const Source = Schema.Literals(["array", "iterable", "stream"])
const sourceOf = <I>(source: typeof Source.Type, items: ReadonlyArray<I>): Iterable<I> | Stream.Stream<I> => {
  switch (source) {
    case "array":
      return items
    case "iterable":
      return (function* () {
        yield* items
      })()
    case "stream":
      return Stream.fromIterable(items)
  }
}

/** a multiset of item indices and the sum of the outputs */
interface Tally {
  readonly counts: Map<number, number>
  sum: number
  n: number
}
const tally = (): MasterSlave.Reducer<Out, Tally> => ({
  initial: { counts: new Map(), sum: 0, n: 0 },
  combine: (acc, out) => {
    acc.counts.set(out.index, (acc.counts.get(out.index) ?? 0) + 1)
    acc.sum += out.value
    acc.n++
    return acc
  }
})

/** the result is the sequential fold, each item counted exactly once */
const assertExact = (values: ReadonlyArray<number>, result: Tally, where: string) => {
  assert.strictEqual(result.n, values.length, `${where}: outputs folded`)
  for (let i = 0; i < values.length; i++) {
    assert.strictEqual(result.counts.get(i), 1, `${where}: item ${i} counted once`)
  }
  assert.strictEqual(result.counts.size, values.length, `${where}: no unknown item`)
  assert.strictEqual(
    result.sum,
    values.reduce((acc, v) => acc + f(v), 0),
    `${where}: the sequential fold`
  )
}

interface Cluster {
  readonly master: Node.NodeService
  readonly slaves: ReadonlyArray<Node.NodeService>
  /** a node for the test's own helper processes (the crasher) */
  readonly control: Node.NodeService
}

const cluster = (slaves: number) =>
  Effect.gen(function* () {
    const master = yield* Node.make({ name: "master" })
    const nodes: Array<Node.NodeService> = []
    for (let i = 0; i < slaves; i++) nodes.push(yield* Node.make({ name: `slave${i}` }))
    const control = yield* Node.make({ name: "control" })
    return { master, slaves: nodes, control } satisfies Cluster
  })

const processesOn = (node: Node.NodeService) => Node.processes.pipe(Effect.provideService(Node.Node, node))
const pidKeys = (pids: ReadonlyArray<ProcessId.ProcessId>) => pids.map(String).sort()

/** poll until `node` has no process, for up to `ms` (the processes left, if any) */
const drained = (node: Node.NodeService, ms: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    while (true) {
      const left = yield* processesOn(node)
      if (left.length === 0 || Date.now() >= deadline) return left
      yield* Effect.sleep("1 millis")
    }
  })

/**
 * Inside the master process, right after the pattern returned: no process of the pattern on any
 * slave node (at once; a node cut off from the master may take a moment to see it), and the master
 * node runs only the test's own process.
 */
const assertClean = (c: Cluster, where: string, cutOff: ReadonlySet<number> = new Set()) =>
  Effect.gen(function* () {
    const self = yield* Process.self
    assert.deepStrictEqual(
      pidKeys(yield* processesOn(c.master)),
      [String(self)],
      `${where}: only the test's process on the master node`
    )
    for (let i = 0; i < c.slaves.length; i++) {
      const left = cutOff.has(i) ? yield* drained(c.slaves[i]!, 2000) : yield* processesOn(c.slaves[i]!)
      assert.deepStrictEqual(pidKeys(left), [], `${where}: no process left on slave${i}`)
    }
  })

/** after the master process ended: no process on any node at all */
const assertAllGone = (c: Cluster, where: string) =>
  Effect.gen(function* () {
    for (const node of [c.master, ...c.slaves, c.control]) {
      assert.deepStrictEqual(pidKeys(yield* processesOn(node)), [], `${where}: no process left on ${node.nodeId}`)
    }
  })

const describePlan = (pattern: PatternName, plan: unknown) => `${pattern} ${JSON.stringify(plan)}`

/** run a pattern in a process of the master node: its exit, once no process of it is left (`assertClean`) */
const exitOnMaster = <A>(c: Cluster, where: string, run: Effect.Effect<A, MasterSlave.PatternError, Process.Process>) =>
  runOn(c.master)(
    Effect.gen(function* () {
      const exit = yield* Effect.exit(run)
      yield* assertClean(c, where)
      return exit
    })
  )

// -----------------------------------------------------------------------------------------------
// 1 and 3: exact result, nothing left

const ExactPlan = Schema.Struct({
  values: arrayBetween(intBetween(0, 1000), 0, 200),
  slaves: intBetween(1, 4),
  source: Source,
  /** every k-th item sleeps (0: none) */
  sleepEvery: intBetween(0, 8),
  sleepMs: intBetween(1, 3),
  /** every k-th item burns CPU (0: none) */
  spinEvery: intBetween(0, 5),
  spin: intBetween(1, 30),
  retries: Schema.optionalKey(intBetween(0, 3)),
  /** 3: every frame takes 1 ms (in a quarter of the runs); otherwise none */
  latency: intBetween(0, 3),
  knobs: Knobs
})
type ExactPlan = typeof ExactPlan.Type

const itemsOf = (plan: {
  readonly values: ReadonlyArray<number>
  readonly sleepEvery: number
  readonly sleepMs: number
  readonly spinEvery?: number
  readonly spin?: number
}): Array<Item> =>
  plan.values.map((value, index) => ({
    index,
    value,
    sleep: plan.sleepEvery > 0 && index % plan.sleepEvery === 0 ? plan.sleepMs : 0,
    spin: plan.spinEvery !== undefined && plan.spinEvery > 0 && index % plan.spinEvery === 0 ? (plan.spin ?? 0) : 0
  }))

const exactRun = (pattern: PatternName, plan: ExactPlan) =>
  Effect.gen(function* () {
    const where = describePlan(pattern, plan)
    const c = yield* cluster(plan.slaves)
    const result = yield* runOn(c.master)(
      Effect.gen(function* () {
        const result = yield* runPattern(
          pattern,
          {
            task: work,
            inputs: sourceOf(plan.source, itemsOf(plan)),
            nodes: c.slaves.map((s) => s.nodeId),
            reduce: tally(),
            retries: plan.retries
          },
          plan.knobs
        )
        yield* assertClean(c, where)
        return result
      })
    )
    assertExact(plan.values, result, where)
    yield* assertAllGone(c, where)
  }).pipe(Effect.provide(envLatency(plan.latency === 3 ? 1 : 0)))

// -----------------------------------------------------------------------------------------------
// 2: crash schedules

const Crash = Schema.Struct({
  /** when: after this many items were folded (percent of all) */
  after: intBetween(0, 99),
  /** which slave node (modulo the nodes that may be hit) */
  target: intBetween(0, 3),
  how: Schema.Literals(["kill", "disconnect"])
})

const CrashPlan = Schema.Struct({
  values: arrayBetween(intBetween(0, 1000), 20, 120),
  slaves: intBetween(1, 4),
  sleepEvery: intBetween(1, 3),
  sleepMs: intBetween(1, 2),
  crashes: arrayBetween(Crash, 0, 4),
  /** also take down every slave, after this percent of the items (1..50), or never (above 50) */
  all: intBetween(1, 150),
  allHow: Schema.Literals(["kill", "disconnect"]),
  knobs: Knobs
})
type CrashPlan = typeof CrashPlan.Type

interface CrashEvent {
  readonly threshold: number
  readonly nodes: ReadonlyArray<number>
  readonly how: "kill" | "disconnect"
}

/** whether the plan takes down every slave */
const allDown = (plan: CrashPlan) => plan.all <= 50

/** the schedule: random events that spare the last slave node, then maybe one that takes all */
const crashEvents = (pattern: PatternName, plan: CrashPlan): Array<CrashEvent> => {
  const n = plan.values.length
  const events: Array<CrashEvent> = []
  if (plan.slaves > 1) {
    for (const crash of plan.crashes) {
      events.push({
        threshold: Math.floor((crash.after * n) / 100),
        nodes: [crash.target % (plan.slaves - 1)],
        how: crash.how
      })
    }
  }
  if (allDown(plan)) {
    events.push({
      // after at least one item: the slaves are up; at most half: the job cannot be done
      threshold: Math.max(1, Math.floor((plan.all * n) / 100)),
      nodes: [...Array(plan.slaves).keys()],
      // a master-slave node whose item processes were killed still takes new ones: cut it off
      how: pattern === "master-slave" ? "disconnect" : plan.allHow
    })
  }
  return events.sort((a, b) => a.threshold - b.threshold)
}

const crashRun = (pattern: PatternName, plan: CrashPlan) =>
  Effect.gen(function* () {
    const where = describePlan(pattern, plan)
    const c = yield* cluster(plan.slaves)
    const net = yield* Transport.MemoryNetwork
    const events = crashEvents(pattern, plan)
    const cutOff = new Set<number>()
    let folded = 0
    const counting = tally()
    const reduce: MasterSlave.Reducer<Out, Tally> = {
      initial: counting.initial,
      combine: (acc, out) => {
        folded++
        return counting.combine(acc, out)
      }
    }
    /** the crasher: a process of the control node, acting as the job's progress crosses thresholds */
    const crasher = runOn(c.control)(
      Effect.gen(function* () {
        for (const event of events) {
          while (folded < event.threshold) yield* Effect.sleep("1 millis")
          // all at once: no await between the hits of one event
          const victims: Array<ProcessId.ProcessId> = []
          for (const i of event.nodes) {
            if (event.how === "disconnect") {
              cutOff.add(i)
              net.disconnect(c.master.nodeId.address, c.slaves[i]!.nodeId.address)
            } else {
              victims.push(...(yield* processesOn(c.slaves[i]!)))
            }
          }
          for (const pid of victims) yield* Process.kill(pid, "crash test")
        }
      })
    )
    const crasherFiber = yield* Effect.forkChild(crasher)
    const exit = yield* runOn(c.master)(
      Effect.gen(function* () {
        const exit = yield* Effect.exit(
          runPattern(
            pattern,
            {
              task: work,
              inputs: itemsOf(plan),
              nodes: c.slaves.map((s) => s.nodeId),
              reduce,
              // a crash costs the items in flight on its slave one attempt each
              retries: 10
            },
            plan.knobs
          )
        )
        yield* assertClean(c, where, cutOff)
        return exit
      })
    )
    yield* Fiber.interrupt(crasherFiber)
    if (allDown(plan)) {
      // the job was at most half done when every slave went: it cannot have finished
      assert.isTrue(Exit.isFailure(exit), `${where}: fails when every slave is gone`)
      if (Exit.isFailure(exit)) {
        const error = Cause.findErrorOption(exit.cause)
        assert.isTrue(Option.isSome(error), `${where}: a typed error, got ${Cause.pretty(exit.cause)}`)
        assert.strictEqual(Option.getOrThrow(error)._tag, "NoSlavesLeft", where)
      }
    } else {
      assert.isTrue(Exit.isSuccess(exit), `${where}: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
      if (Exit.isSuccess(exit)) assertExact(plan.values, exit.value, where)
    }
    for (const i of cutOff) yield* drained(c.slaves[i]!, 2000)
    yield* assertAllGone(c, where)
  }).pipe(Effect.provide(env()))

// -----------------------------------------------------------------------------------------------
// 4: interruption

const InterruptPlan = Schema.Struct({
  values: arrayBetween(intBetween(0, 1000), 10, 100),
  slaves: intBetween(1, 4),
  sleepEvery: intBetween(1, 2),
  sleepMs: intBetween(1, 3),
  /** interrupt this many milliseconds after the start (0: at once) */
  after: intBetween(0, 25),
  /** milliseconds every frame takes (spawns in flight last that much longer) */
  latency: intBetween(0, 3),
  knobs: Knobs
})
type InterruptPlan = typeof InterruptPlan.Type

const interruptRun = (pattern: PatternName, plan: InterruptPlan) =>
  Effect.gen(function* () {
    const where = describePlan(pattern, plan)
    const c = yield* cluster(plan.slaves)
    const fiber = yield* Effect.forkChild(
      runOn(c.master)(
        runPattern(
          pattern,
          { task: work, inputs: itemsOf(plan), nodes: c.slaves.map((s) => s.nodeId), reduce: tally() },
          plan.knobs
        )
      ),
      { startImmediately: true }
    )
    if (plan.after > 0) yield* Effect.sleep(`${plan.after} millis`)
    yield* Fiber.interrupt(fiber)
    yield* assertAllGone(c, where)
  }).pipe(Effect.provide(envLatency(plan.latency)))

// -----------------------------------------------------------------------------------------------
// 5: failing tasks

const PoisonPlan = Schema.Struct({
  count: intBetween(1, 60),
  /** the item that always fails (modulo count) */
  poison: intBetween(0, 59),
  slaves: intBetween(1, 4),
  retries: intBetween(0, 3),
  knobs: Knobs
})
type PoisonPlan = typeof PoisonPlan.Type

const poisonRun = (pattern: PatternName, plan: PoisonPlan) =>
  Effect.gen(function* () {
    const where = describePlan(pattern, plan)
    const base = ++runCounter * 1000
    const values = Array.from({ length: plan.count }, (_, i) => base + i)
    const index = plan.poison % plan.count
    const bad = base + index
    poisoned.add(bad)
    const c = yield* cluster(plan.slaves)
    const exit = yield* exitOnMaster(
      c,
      where,
      runPattern(
        pattern,
        {
          task: poison,
          inputs: values,
          nodes: c.slaves.map((s) => s.nodeId),
          reduce: { initial: 0, combine: (a: number, b: number) => a + b },
          retries: plan.retries
        },
        plan.knobs
      )
    )
    assert.isTrue(Exit.isFailure(exit), `${where}: fails`)
    if (Exit.isFailure(exit)) {
      const error = Option.getOrThrow(Cause.findErrorOption(exit.cause))
      assert.strictEqual(error._tag, "TaskFailed", `${where}: ${Cause.pretty(exit.cause)}`)
      if (error._tag === "TaskFailed") {
        assert.strictEqual(error.task, poison.name, where)
        assert.strictEqual(error.item, index, `${where}: names the item's index`)
        assert.strictEqual(error.input, String(bad), `${where}: names the item's input`)
        assert.strictEqual(error.attempts, plan.retries + 1, `${where}: after retries + 1 attempts`)
        assert.include(error.error, "Poisoned", where)
      }
    }
    assert.strictEqual(poisonTries.get(bad), plan.retries + 1, `${where}: the task ran retries + 1 times`)
    poisoned.delete(bad)
    poisonTries.delete(bad)
    yield* assertAllGone(c, where)
  }).pipe(Effect.provide(env()))

const FlakyPlan = Schema.Struct({
  values: arrayBetween(intBetween(0, 1000), 0, 80),
  slaves: intBetween(1, 4),
  retries: intBetween(1, 3),
  /** every k-th pair of items sleeps (0: none) */
  sleepEvery: intBetween(0, 3),
  sleepMs: intBetween(1, 5),
  knobs: Knobs
})
type FlakyPlan = typeof FlakyPlan.Type

const flakyRun = (pattern: PatternName, plan: FlakyPlan) =>
  Effect.gen(function* () {
    const where = describePlan(pattern, plan)
    const run = ++runCounter
    const c = yield* cluster(plan.slaves)
    const result = yield* runOn(c.master)(
      Effect.gen(function* () {
        const result = yield* runPattern(
          pattern,
          {
            task: flaky,
            inputs: plan.values.map((value, index) => ({
              run,
              index,
              value,
              sleep: plan.sleepEvery > 0 && Math.floor(index / 2) % plan.sleepEvery === 0 ? plan.sleepMs : 0
            })),
            nodes: c.slaves.map((s) => s.nodeId),
            reduce: tally(),
            retries: plan.retries
          },
          plan.knobs
        )
        yield* assertClean(c, where)
        return result
      })
    )
    assertExact(plan.values, result, where)
    for (let i = 0; i < plan.values.length; i++) {
      // one failed try, then one that counted (a slow duplicate may add a try, never a count)
      assert.isAtLeast(flakyTries.get(`${run}:${i}`) ?? 0, 2, `${where}: item ${i} tried again`)
      flakyTries.delete(`${run}:${i}`)
    }
    yield* assertAllGone(c, where)
  }).pipe(Effect.provide(env()))

const InvalidPlan = Schema.Struct({
  count: intBetween(1, 60),
  /** positions (modulo count) of inputs that are not integers, which the task's schema refuses */
  invalid: arrayBetween(intBetween(0, 59), 1, 4),
  source: Source,
  slaves: intBetween(1, 4),
  knobs: Knobs
})
type InvalidPlan = typeof InvalidPlan.Type

const invalidRun = (pattern: PatternName, plan: InvalidPlan) =>
  Effect.gen(function* () {
    const where = describePlan(pattern, plan)
    const invalid = new Set(plan.invalid.map((i) => i % plan.count))
    const values = Array.from({ length: plan.count }, (_, i) => (invalid.has(i) ? i + 0.5 : i))
    const c = yield* cluster(plan.slaves)
    const exit = yield* exitOnMaster(
      c,
      where,
      runPattern(
        pattern,
        {
          task: poison,
          inputs: sourceOf(plan.source, values),
          nodes: c.slaves.map((s) => s.nodeId),
          reduce: { initial: 0, combine: (a: number, b: number) => a + b }
        },
        plan.knobs
      )
    )
    assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), `${where}: a typed failure`)
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
    assert.strictEqual(error?._tag, "InvalidInput", where)
    if (error?._tag === "InvalidInput") {
      // inputs are handed out in order: the first one refused is the first invalid one
      const first = Math.min(...invalid)
      assert.strictEqual(error.index, first, `${where}: names the first invalid input`)
      assert.strictEqual(error.input, String(first + 0.5), where)
    }
    yield* assertAllGone(c, where)
  }).pipe(Effect.provide(env()))

// -----------------------------------------------------------------------------------------------

describe("properties: patterns", () => {
  for (const pattern of patterns) {
    describe(pattern, () => {
      it.live.prop(
        "the result is the sequential fold, each item counted once; nothing is left",
        { plan: ExactPlan },
        ({ plan }) => exactRun(pattern, plan),
        config(25)
      )
      it.live.prop(
        "crashes: exact while one slave node is spared, NoSlavesLeft when all are gone; nothing is left",
        { plan: CrashPlan },
        ({ plan }) => crashRun(pattern, plan),
        config(25)
      )
      it.live.prop(
        "an interrupted run leaves no process on any node",
        { plan: InterruptPlan },
        ({ plan }) => interruptRun(pattern, plan),
        config(25)
      )
      it.live.prop(
        "an item failing on every try: TaskFailed naming it after retries + 1 attempts",
        { plan: PoisonPlan },
        ({ plan }) => poisonRun(pattern, plan),
        config(25)
      )
      it.live.prop(
        "inputs the task's schema refuses: InvalidInput naming the first, at once; nothing is left",
        { plan: InvalidPlan },
        ({ plan }) => invalidRun(pattern, plan),
        config(25)
      )
      it.live("TaskFailed names a plain-object (Schema.Struct) input by its content", () =>
        Effect.gen(function* () {
          const c = yield* cluster(1)
          const exit = yield* runOn(c.master)(
            Effect.exit(
              runPattern(
                pattern,
                {
                  task: poisonLabelled,
                  inputs: [{ label: "the-bad-one", n: 42 }],
                  nodes: c.slaves.map((s) => s.nodeId),
                  reduce: { initial: 0, combine: (a: number, b: number) => a + b },
                  retries: 0
                },
                { window: 1, prefetch: true, batch: 0, targetMillis: 20, concurrency: 1 }
              )
            )
          )
          const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
          assert.strictEqual(error?._tag, "TaskFailed")
          if (error?._tag === "TaskFailed") {
            assert.strictEqual(error.item, 0)
            assert.include(error.input, "the-bad-one", "the input, not [object Object]")
          }
        }).pipe(Effect.provide(env()))
      )
      it.live.prop(
        "items failing on their first try: still the exact result",
        { plan: FlakyPlan },
        ({ plan }) => flakyRun(pattern, plan),
        config(25)
      )
      it.live("one item, its first try failing at once and its second taking 5 ms: the exact result", () =>
        flakyRun(pattern, {
          values: [7],
          slaves: 1,
          retries: 1,
          sleepEvery: 1,
          sleepMs: 5,
          knobs: { window: 2, prefetch: true, batch: 0, targetMillis: 20, concurrency: 2 }
        })
      )
    })
  }
})
