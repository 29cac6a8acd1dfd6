/**
 * The `patterns` suite: the three communication patterns of Cloud Haskell (master-slave,
 * work-pushing, work-stealing) on 2 worker-thread slaves, against the sequential sum and against
 * Piscina on the same job, in one run.
 *
 * 1. the job of the blog post: the sum of numPrimeFactors over 1..N, for both variants of the
 *    workload (`naive` and `primes`, see `src/patterns/PrimeFactors.ts`), N chosen so that the
 *    sequential sum takes about 5 s on the 2-core benchmark machine. Rows: the sequential sum (one
 *    fresh thread running the range tasks' own function on 1..N, as Piscina's threads do on
 *    ranges), each pattern on `Backend.workerThreads(2)`, Piscina with 2 threads at a few task
 *    sizes, and the three patterns again on 2 slave OS processes over TCP (`cloud-effect slave`,
 *    fresh processes per row). The patterns get the same work items: `RANGES` consecutive ranges of
 *    N / `RANGES` numbers (`primesRange` / `naiveRange`), so that each item is worth milliseconds of
 *    work and the per-item cost of the master (one process per item for master-slave) is small
 *    against it; work-stealing is also run on `FINE_RANGES` ranges and on per-number items
 *    (`naive` / `primes`), which its adaptive batching makes cheap. Every row runs on fresh threads
 *    (or processes), so each slave grows its own prime table during the job, as the `primes` bound
 *    assumes; thread start-up is excluded from the timings and reported on its own. Every sum is
 *    checked against the sequential one.
 * 2. a fine-grained job: a trivial task (n -> n) over 1..N, lazily (`PrimeFactors.range`): items per
 *    second per pattern, and the master's memory while it runs (sampled in the main thread), which
 *    must not grow with N (it is bounded by the window / prefetch, not by the number of items).
 *
 * Targets (the issue's upper bounds for 2 slaves, from operation counts): `naive` 2.0x with dynamic
 * distribution, 1.36x round-robin; `primes` 1.44x dynamic, 1.21x round-robin (each slave grows its
 * own prime table). Work-stealing >= 95% of the dynamic bound and at least as fast as Piscina;
 * master-slave and work-pushing >= 90% of the round-robin bound.
 *
 * `npm run bench -- patterns --quick` (or BENCH_QUICK=1) shrinks every N for a smoke run;
 * `--only=naive,primes,fine` (or BENCH_ONLY=...) runs only some parts; BENCH_VERBOSE=1 logs each step.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { Effect, Layer, Redacted } from "effect"
import { Piscina } from "piscina"
import {
  Backend,
  MasterSlave,
  type Node,
  type NodeId,
  PrimeFactors,
  type Process,
  type Task,
  WorkPushing,
  WorkStealing
} from "../src/index.ts"
import type { Done as PiscinaDone, Job as PiscinaJob, Variant } from "./fixtures/piscina-worker.ts"
import { identity, remoteTable } from "./fixtures/tasks.ts"
import { fmt, fmtRatio, int, median, type Result, result, type Suite, settle, table } from "./harness.ts"

const QUICK = process.argv.slice(3).includes("--quick") || process.env.BENCH_QUICK === "1"
/** `--only=naive,primes,fine` (or BENCH_ONLY=...): run only these parts (default: all) */
const ONLY: ReadonlySet<string> = new Set(
  (process.argv.find((a) => a.startsWith("--only="))?.slice(7) ?? process.env.BENCH_ONLY ?? "naive,primes,fine").split(
    ","
  )
)
/**
 * BENCH_ROWS=work-stealing,piscina: run only the rows of the heavy job whose key contains one of
 * these (the sequential sums always run); for a longer comparison of a few rows
 */
const ROWS = process.env.BENCH_ROWS?.split(",").filter((r) => r.length > 0)
const wanted = (key: string): boolean => ROWS === undefined || ROWS.some((r) => key.includes(r))
/**
 * Every row of the heavy job runs this many times, in passes (each pass runs every row once), and
 * the tables give each row's median: one run on a shared 2-core machine moves by 5-30 %, more than
 * the differences the targets judge. `BENCH_REPS=1` for one pass.
 */
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 3))
/** BENCH_VERBOSE=1: log each step on stderr as it starts */
const step = (what: string): void => {
  current = { what, since: performance.now() }
  if (process.env.BENCH_VERBOSE === "1") console.error(`[${new Date().toISOString().slice(11, 23)}] ${what}`)
}
let current = { what: "start", since: performance.now() }
/** no step takes this long (the longest, 10^6 fine-grained items, takes ~15 s): a hang ends the run */
const STUCK_AFTER_MS = 180_000
const watchdog = setInterval(() => {
  if (performance.now() - current.since < STUCK_AFTER_MS) return
  console.error(`bench patterns: stuck for ${STUCK_AFTER_MS / 1000} s in step "${current.what}"; giving up`)
  process.exit(3)
}, 5_000)
watchdog.unref()

/** the slaves' remote table (the PrimeFactors tasks and `identity`) */
const TASKS_MODULE = new URL("./fixtures/tasks.ts", import.meta.url)
const PISCINA_WORKER = fileURLToPath(new URL("./fixtures/piscina-worker.ts", import.meta.url))
const SLAVES = 2

/**
 * N per variant: about 5 s of sequential work each on the benchmark machine (2 cores, AMD EPYC,
 * Node 24; measured when the machine was quiet: naive 180,000 -> 4.4 s, 190,000 -> 4.7-5.1 s;
 * primes 450,000 -> 4.2-5.2 s, 480,000 -> 5.6 s).
 * The quick run uses N = 100,000 for both, whose sum is a published check value.
 */
const N: Readonly<Record<Variant, number>> = QUICK
  ? { naive: 100_000, primes: 100_000 }
  : { naive: 190_000, primes: 450_000 }
/** the work items of the patterns: this many consecutive ranges of N / RANGES numbers */
const RANGES = 200
/**
 * Work-stealing is also run on ranges ten times finer: its adaptive batches put many items in one
 * message, so finer items cost it little messaging, and its last items are small (a 200-range job
 * ends with one slave idle while the other finishes a last range of up to ~50 ms). Piscina likewise
 * gets its best of several task sizes.
 */
const FINE_RANGES = 2000
/** the variants on which work-stealing is also run on per-number items (see the module comment) */
const PER_NUMBER: ReadonlySet<Variant> = new Set(["naive", "primes"])
/** the Piscina task counts tried (its best is the reference) */
const PISCINA_TASKS = [50, 200, 1000]
/** known sums of numPrimeFactors over 1..n */
const CHECK: ReadonlyMap<number, number> = new Map([
  [10_000, 31_985],
  [100_000, 343_614],
  [200_000, 699_499]
])

/** the issue's upper bounds of the speed-up with 2 slaves, from operation counts */
const BOUND: Readonly<Record<Variant, { readonly dynamic: number; readonly roundRobin: number }>> = {
  naive: { dynamic: 2.0, roundRobin: 1.36 },
  primes: { dynamic: 1.44, roundRobin: 1.21 }
}

// -----------------------------------------------------------------------------------------------
// running things

/** the machine is shared: its load average is printed with the tables (2 cores: above ~0.5, expect noise) */
const load = (): string => loadavg()[0]!.toFixed(2)

type Nodes = ReadonlyArray<NodeId.NodeId>
type Job<A> = (nodes: Nodes) => Effect.Effect<A, unknown, Process.Process>

/** the pids of the slave OS processes alive (the TCP rows): their CPU time counts in "cores used" */
const children = new Set<number>()
/** clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux) */
const USER_HZ = 100
/** CPU ms (user + system) of a process or thread, from its /proc stat file; NaN if it cannot be read */
const procCpuMs = (statFile: string): number => {
  try {
    const stat = readFileSync(statFile, "utf8")
    // after "pid (comm) ": state is field 3, utime field 14, stime field 15
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ
  } catch {
    // not Linux, or the process is gone
    return Number.NaN
  }
}
const childrenCpuMs = (): number => {
  let total = 0
  for (const pid of children) {
    const ms = procCpuMs(`/proc/${pid}/stat`)
    if (!Number.isNaN(ms)) total += ms
  }
  return total
}

/**
 * Start a clock: it gives the wall time since, and the cores used meanwhile (CPU time of this
 * process, every thread, and of the slave OS processes, over wall time): about 2 for 2 busy slaves,
 * less when the slaves wait for work or other processes on the machine take the cores.
 */
const clock = () => {
  const start = performance.now()
  const cpu = process.cpuUsage()
  const childCpu = childrenCpuMs()
  const master = mainThreadCpuMs()
  return (): Measured => {
    const ms = performance.now() - start
    const used = process.cpuUsage(cpu)
    return {
      ms,
      cores: ((used.user + used.system) / 1000 + childrenCpuMs() - childCpu) / ms,
      master: mainThreadCpuMs() - master
    }
  }
}

/** a run's wall time, the cores it used, and the CPU time of the main thread (the master) in ms */
interface Measured {
  readonly ms: number
  readonly cores: number
  readonly master: number
}

/**
 * CPU ms of this process's main thread alone (on Linux, from /proc; NaN elsewhere): the master's
 * share, which on 2 cores is taken from the slaves
 */
const mainThreadCpuMs = (): number => procCpuMs(`/proc/self/task/${process.pid}/stat`)

interface Timed<A> {
  readonly value: A
  /** the job alone, in the master */
  readonly ms: number
  readonly cores: number
  readonly master: number
  /** Backend.workerThreads(2): loading the module and starting the slave nodes */
  readonly startupMs: number
}

/**
 * A little of every pattern's code path, so the measured job does not pay for the JIT: the measured
 * jobs send a few hundred messages each, too few for V8 to optimise the messaging path on fresh
 * threads, so work-stealing also runs 2,000 one-item batches (each a request, a Work and a Results
 * message). With a `variant`, the job's own tasks also run, WARM_ROUNDS times over 1..WARM_N, on
 * one-number ranges (a range is a Schema class, and its codec is JIT-compiled only after thousands
 * of items: without this, V8's compiler threads took 50-90 ms of CPU during a 2.5 s job, from the
 * 2 cores the slaves compute on, against 10 ms with it). The prime tables then hold the primes up to
 * WARM_N, a few hundred, against the job's tens of thousands. Piscina's threads get the same: 2,000
 * empty tasks, then the same one-number ranges, before their clock starts.
 */
/** a variant's tasks: on a range of numbers, and on one number */
const tasksOf = (variant: Variant) =>
  variant === "naive"
    ? { rangeTask: PrimeFactors.naiveRange, numberTask: PrimeFactors.naive }
    : { rangeTask: PrimeFactors.primesRange, numberTask: PrimeFactors.primes }

const warmUp = (nodes: Nodes, variant?: Variant) =>
  Effect.gen(function* () {
    const small = (n: number) => ({ task: identity, inputs: PrimeFactors.range(1, n), nodes, reduce: PrimeFactors.sum })
    yield* WorkStealing.run(small(2000))
    yield* WorkStealing.run({ ...small(WARM_TASKS), batch: 1 })
    yield* WorkPushing.run(small(200))
    yield* MasterSlave.run(small(20))
    if (variant !== undefined) {
      const { rangeTask, numberTask } = tasksOf(variant)
      const sum = <I>(task: Task.Task<I, number>, inputs: Iterable<I>) =>
        ({ task, inputs, nodes, reduce: PrimeFactors.sum }) as const
      for (let round = 0; round < WARM_ROUNDS; round++) {
        yield* WorkStealing.run(sum(rangeTask, PrimeFactors.ranges(1, WARM_N, 1)))
        yield* WorkStealing.run(sum(numberTask, PrimeFactors.range(1, WARM_N)))
      }
      yield* WorkPushing.run(sum(rangeTask, PrimeFactors.ranges(1, WARM_N, 20)))
      yield* MasterSlave.run(sum(rangeTask, PrimeFactors.ranges(1, WARM_N, 200)))
    }
  })
/** the job's own tasks in the warm-up: WARM_ROUNDS times over 1..WARM_N */
const WARM_N = 2000
const WARM_ROUNDS = 10
/** the one-item batches / empty tasks of the warm-ups */
const WARM_TASKS = 2000

/**
 * Start a fresh backend (SLAVES worker threads), warm it up, then time `job` in a process on the
 * master node; the threads are closed afterwards. After the warm-up (`warmUp`) the slaves' prime
 * tables hold only the primes up to WARM_N.
 */
const onFreshWorkers = <A>(job: Job<A>, variant?: Variant): Promise<Timed<A>> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const t0 = performance.now()
      const context = yield* Layer.build(Backend.workerThreads(SLAVES, { module: TASKS_MODULE }))
      const startupMs = performance.now() - t0
      return yield* Backend.startMaster((nodes) =>
        Effect.gen(function* () {
          step("warm-up")
          yield* warmUp(nodes, variant)
          settle()
          step("job")
          const stop = clock()
          const value = yield* job(nodes)
          return { value, ...stop(), startupMs }
        })
      ).pipe(Effect.provideContext(context))
    }).pipe(Effect.scoped)
  )

/** a Piscina pool whose threads have all started and loaded the worker module */
const piscinaPool = async (threads: number, variant?: Variant): Promise<Piscina<PiscinaJob, PiscinaDone>> => {
  const pool = new Piscina<PiscinaJob, PiscinaDone>({
    filename: PISCINA_WORKER,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 600_000
  })
  const seen = new Set<number>()
  for (let i = 0; seen.size < threads; i++) {
    if (i === 50) throw new Error(`piscina: only ${seen.size} of ${threads} threads answered`)
    const warm = Array.from({ length: threads }, () => pool.run({ _tag: "warm", millis: 20 }))
    for (const done of await Promise.all(warm)) seen.add(done.thread)
  }
  // the task path warm, as the patterns' messaging is (see `warmUp`)
  await Promise.all(Array.from({ length: WARM_TASKS }, () => pool.run({ _tag: "warm", millis: 0 })))
  for (let round = 0; variant !== undefined && round < WARM_ROUNDS; round++) {
    const warm = [...PrimeFactors.ranges(1, WARM_N, 1)]
    await Promise.all(warm.map((r) => pool.run({ _tag: "range", variant, from: r.from, to: r.to })))
  }
  return pool
}

/**
 * The sequential sum in one fresh thread, warmed up as the pools' threads are, as one range job
 * 1..n (the warm-up's object shape, so the one long call runs the code V8 compiled during the
 * warm-up); the time is the thread's
 */
const sequential = async (variant: Variant, n: number): Promise<{ readonly sum: number } & Measured> => {
  const pool = await piscinaPool(1, variant)
  try {
    settle()
    const stop = clock()
    const done = await pool.run({ _tag: "range", variant, from: 1, to: n })
    const { cores, master } = stop()
    return { sum: done.sum, ms: done.ms, cores, master }
  } finally {
    await pool.destroy()
  }
}

/**
 * ms for one fresh thread to grow its prime table to the largest prime <= n: the part of the
 * `primes` job that every slave repeats
 */
const growTable = async (n: number): Promise<number> => {
  const pool = await piscinaPool(1)
  try {
    settle()
    return (await pool.run({ _tag: "grow", n })).ms
  } finally {
    await pool.destroy()
  }
}

/**
 * The machine's own limit: SLAVES fresh threads each run the whole sequential sum at once; the
 * mean of their times (measured in each thread) against one thread alone says how much slower a
 * thread computes while the other cores are busy too (shared caches, hyperthreads, the host).
 */
const contended = async (variant: Variant, n: number): Promise<number> => {
  const pool = await piscinaPool(SLAVES, variant)
  try {
    settle()
    const all = await Promise.all(
      Array.from({ length: SLAVES }, () => pool.run({ _tag: "range", variant, from: 1, to: n }))
    )
    return all.reduce((t, d) => t + d.ms, 0) / all.length
  } finally {
    await pool.destroy()
  }
}

/** Piscina with SLAVES fresh threads: 1..n in `tasks` ranges, all queued at once; wall time in the main thread */
const piscinaSum = async (variant: Variant, n: number, tasks: number): Promise<{ readonly sum: number } & Measured> => {
  const pool = await piscinaPool(SLAVES, variant)
  try {
    settle()
    const stop = clock()
    const parts: Array<Promise<PiscinaDone>> = []
    for (const r of PrimeFactors.ranges(1, n, Math.ceil(n / tasks))) {
      parts.push(pool.run({ _tag: "range", variant, from: r.from, to: r.to }))
    }
    let sum = 0
    for (const done of await Promise.all(parts)) sum += done.sum
    return { sum, ...stop() }
  } finally {
    await pool.destroy()
  }
}

const check = (what: string, got: number, want: number): void => {
  if (got !== want) throw new Error(`${what}: sum ${got}, expected ${want}`)
}

/**
 * SLAVES slave OS processes started with `cloud-effect slave` on 127.0.0.1 (their table has the
 * PrimeFactors tasks), and a master node on TCP in this process; the processes are killed when the
 * layer closes.
 */
type SlaveBackend = (slaves: number) => Layer.Layer<Backend.Backend | Node.Node, unknown>
const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url))
const tcpCookie = `bench-${process.pid}`
const fixtureTable = fileURLToPath(new URL("./fixtures/tasks.ts", import.meta.url))
const slaveProcess = Effect.acquireRelease(
  Effect.callback<{ readonly child: ChildProcess; readonly address: string }, Error>((resume) => {
    const child = spawn(
      process.execPath,
      [cli, "slave", "--listen", "127.0.0.1:0", "--cookie", tcpCookie, "--load", fixtureTable],
      {
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    if (child.pid !== undefined) children.add(child.pid)
    let out = ""
    child.stdout.on("data", (d) => {
      out += d
      const m = /listening on (tcp:\/\/[0-9.]+:\d+)/.exec(out)
      if (m) resume(Effect.succeed({ child, address: m[1]! }))
    })
    child.on("exit", (code) => resume(Effect.fail(new Error(`a slave process exited early (${code})`))))
  }),
  ({ child }) =>
    Effect.callback<void>((resume) => {
      if (child.pid !== undefined) children.delete(child.pid)
      if (child.exitCode !== null) return resume(Effect.void)
      child.once("exit", () => resume(Effect.void))
      child.kill("SIGKILL")
    })
)
const tcpBackend: SlaveBackend | undefined = (slaves) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const started = yield* Effect.forEach(Array.from({ length: slaves }), () => slaveProcess, {
        concurrency: "unbounded"
      })
      return Backend.tcpMaster({
        host: "127.0.0.1",
        port: 0,
        cookie: Redacted.make(tcpCookie),
        table: remoteTable,
        slaves: started.map((s) => s.address)
      })
    })
  )

const onTcpSlaves = <A>(
  layer: Layer.Layer<Backend.Backend | Node.Node, unknown>,
  job: Job<A>,
  variant?: Variant
): Promise<Timed<A>> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const t0 = performance.now()
      const context = yield* Layer.build(layer)
      const startupMs = performance.now() - t0
      return yield* Backend.startMaster((nodes) =>
        Effect.gen(function* () {
          yield* warmUp(nodes, variant)
          settle()
          const stop = clock()
          const value = yield* job(nodes)
          return { value, ...stop(), startupMs }
        })
      ).pipe(Effect.provideContext(context))
    }).pipe(Effect.scoped)
  )

// -----------------------------------------------------------------------------------------------
// 1. the sum of numPrimeFactors over 1..N

const startups: Array<number> = []
const tcpStartups: Array<number> = []

interface Row {
  readonly key: string
  readonly label: string
  readonly ms: number
  readonly cores: number
  /** CPU ms of the main thread (the master, or Piscina's pool) during the run */
  readonly master: number
  /** the bound its target is relative to (none: a reference row) */
  readonly target?: "roundRobin" | "dynamic"
  /** the key of its runs, if not `key` */
  readonly runs?: string
}
const sourceKey = (row: Row): string => row.runs ?? row.key

const heavy = async (variant: Variant): Promise<Array<Result>> => {
  const n = N[variant]
  const bound = BOUND[variant]
  const chunk = Math.ceil(n / RANGES)
  const { rangeTask, numberTask } = tasksOf(variant)
  const ranges = () => PrimeFactors.ranges(1, n, chunk)
  const loadBefore = load()

  // primes: the time-based counterpart of the op-count bound, each slave growing the whole table
  const growMs = variant === "primes" ? await growTable(n) : undefined

  const allPatterns: ReadonlyArray<{
    readonly key: string
    readonly label: string
    readonly target: "roundRobin" | "dynamic"
    readonly job: Job<number>
  }> = [
    {
      key: "master-slave (ranges)",
      label: `master-slave: ${RANGES} ranges, a process each`,
      target: "roundRobin",
      job: (nodes) => MasterSlave.run({ task: rangeTask, inputs: ranges(), nodes, reduce: PrimeFactors.sum })
    },
    {
      key: "work-pushing (ranges)",
      label: `work-pushing: ${RANGES} ranges, window 2`,
      target: "roundRobin",
      job: (nodes) => WorkPushing.run({ task: rangeTask, inputs: ranges(), nodes, reduce: PrimeFactors.sum })
    },
    {
      key: "work-stealing (ranges)",
      label: `work-stealing: ${RANGES} ranges, adaptive`,
      target: "dynamic",
      job: (nodes) => WorkStealing.run({ task: rangeTask, inputs: ranges(), nodes, reduce: PrimeFactors.sum })
    },
    {
      key: "work-stealing (fine ranges)",
      label: `work-stealing: ${int(FINE_RANGES)} ranges, adaptive`,
      target: "dynamic",
      job: (nodes) =>
        WorkStealing.run({
          task: rangeTask,
          inputs: PrimeFactors.ranges(1, n, Math.ceil(n / FINE_RANGES)),
          nodes,
          reduce: PrimeFactors.sum
        })
    },
    ...(PER_NUMBER.has(variant)
      ? [
          {
            key: "work-stealing (numbers)",
            label: `work-stealing: ${int(n)} numbers, adaptive`,
            target: "dynamic" as const,
            job: (nodes: Nodes) =>
              WorkStealing.run({ task: numberTask, inputs: PrimeFactors.range(1, n), nodes, reduce: PrimeFactors.sum })
          }
        ]
      : [])
  ]
  const patterns = allPatterns.filter((p) => wanted(p.key))
  const piscinaTasks = PISCINA_TASKS.filter((tasks) => wanted(`piscina ${tasks} tasks`))
  const tcpPatterns = allPatterns.slice(0, 3).filter((p) => wanted(`${p.key} on TCP`))
  // REPS passes, each running every row once; each row's runs, by key
  const runs = new Map<string, Array<Measured>>()
  const record = (key: string, run: Measured) => {
    const list = runs.get(key) ?? []
    list.push({ ms: run.ms, cores: run.cores, master: run.master })
    runs.set(key, list)
  }
  let seqSum: number | undefined
  for (let pass = 1; pass <= REPS; pass++) {
    const tag = REPS > 1 ? ` (pass ${pass} of ${REPS})` : ""
    step(`${variant}: sequential${tag}`)
    const seq = await sequential(variant, n)
    const known = CHECK.get(n)
    if (known !== undefined) check(`${variant} sequential`, seq.sum, known)
    if (seqSum !== undefined) check(`${variant} sequential, pass ${pass}`, seq.sum, seqSum)
    seqSum = seq.sum
    record("sequential", seq)
    step(`${variant}: sequential on every core at once${tag}`)
    record("contended", { ms: await contended(variant, n), cores: SLAVES, master: 0 })
    // the patterns and Piscina, in reverse order every other pass: the load of a shared machine
    // drifts over minutes, and a fixed order would give it to the same rows each time
    const parallel: Array<() => Promise<void>> = [
      ...patterns.map((p) => async () => {
        step(`${variant}: ${p.key}${tag}`)
        const run = await onFreshWorkers(p.job, variant)
        check(`${variant} ${p.key}`, run.value, seq.sum)
        startups.push(run.startupMs)
        record(p.key, run)
      }),
      ...piscinaTasks.map((tasks) => async () => {
        step(`${variant}: piscina ${tasks} tasks${tag}`)
        const run = await piscinaSum(variant, n, tasks)
        check(`${variant} piscina (${tasks} tasks)`, run.sum, seq.sum)
        record(`piscina ${tasks} tasks`, run)
      })
    ]
    if (pass % 2 === 0) parallel.reverse()
    for (const row of parallel) await row()
    if (tcpBackend !== undefined) {
      // the same patterns on SLAVES slave OS processes over TCP (fresh processes for each)
      for (const p of tcpPatterns) {
        step(`${variant}: ${p.key} on TCP slave processes${tag}`)
        const tcp = await onTcpSlaves(tcpBackend(SLAVES), p.job, variant)
        tcpStartups.push(tcp.startupMs)
        check(`${variant} ${p.key} on TCP slaves`, tcp.value, seq.sum)
        record(`${p.key} on TCP`, tcp)
      }
    }
  }
  /** a row's median run (by time) and the cores it used */
  const medianOf = (key: string): Measured => {
    const list = runs.get(key)!
    return {
      ms: median(list.map((r) => r.ms)),
      cores: median(list.map((r) => r.cores)),
      master: median(list.map((r) => r.master))
    }
  }
  const seq = { sum: seqSum!, ...medianOf("sequential") }

  const measured: Array<Row> = patterns.map((p) => ({
    key: p.key,
    label: p.label,
    ...medianOf(p.key),
    target: p.target
  }))
  const piscina: Array<Row> = piscinaTasks.map((tasks) => ({
    key: `piscina ${tasks} tasks`,
    label: `Piscina: ${int(tasks)} tasks of ${int(Math.ceil(n / tasks))}`,
    ...medianOf(`piscina ${tasks} tasks`)
  }))
  const best = piscina.length === 0 ? undefined : piscina.reduce((a, b) => (b.ms < a.ms ? b : a))
  const bestMs = best?.ms ?? Number.NaN
  /**
   * A row against Piscina's best, pass by pass: the median of the per-pass ratios of their times
   * (a pass runs both within a minute, so the machine's drifting load weighs on both alike)
   */
  const paired = (key: string): { readonly median: number; readonly min: number; readonly max: number } => {
    const mine = runs.get(key) ?? []
    const theirs = best === undefined ? [] : (runs.get(best.key) ?? [])
    const ratios = mine.slice(0, theirs.length).map((r, i) => r.ms / theirs[i]!.ms)
    return ratios.length === 0
      ? { median: Number.NaN, min: Number.NaN, max: Number.NaN }
      : { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) }
  }
  /** a row's fastest and slowest run */
  const spread = (key: string): string => {
    const list = (runs.get(key) ?? []).map((r) => r.ms / 1000)
    return list.length < 2 ? "" : `${fmt(Math.min(...list))}-${fmt(Math.max(...list))}`
  }
  const others: Array<Row> =
    tcpBackend === undefined
      ? []
      : tcpPatterns.map((p) => ({
          key: `${p.key.replace(" (ranges)", "")} on TCP (ranges)`,
          runs: `${p.key} on TCP`,
          label: `${p.label.split(":")[0]} on ${SLAVES} TCP slave processes`,
          ...medianOf(`${p.key} on TCP`),
          target: p.target
        }))

  const rows: Array<Array<string>> = [
    ["sequential, 1 thread", fmt(seq.ms / 1000), spread("sequential"), "1.00x", fmt(seq.cores), "", "", "", "reference"]
  ]
  const results: Array<Result> = [result(`${variant} N=${n}: sequential`, seq.ms / 1000, "s")]
  for (const row of [...measured, ...piscina, ...others]) {
    const s = seq.ms / row.ms
    const which = row.target ?? "dynamic"
    const b = which === "dynamic" ? bound.dynamic : bound.roundRobin
    let verdict = ""
    if (row.target !== undefined) {
      const need = row.target === "dynamic" ? 0.95 * b : 0.9 * b
      // against Piscina: the median of the per-pass ratios (or the medians, with one pass)
      const vsPiscina = REPS > 1 ? paired(sourceKey(row)).median : row.ms / bestMs
      // (with no Piscina row run, BENCH_ROWS=..., only the speed-up is judged)
      const judged = row.target === "dynamic" && best !== undefined
      const met = s >= need && (!judged || vsPiscina <= 1)
      verdict = `${judged ? `>= ${fmtRatio(need)}, <= Piscina` : `>= ${fmtRatio(need)}`}: ${met ? "met" : "MISSED"}`
    }
    rows.push([
      row.label + (row === best ? " (best)" : ""),
      fmt(row.ms / 1000),
      spread(sourceKey(row)),
      fmtRatio(s),
      fmt(row.cores),
      Number.isNaN(row.master) ? "" : int(row.master),
      `${fmtRatio(b)} ${which === "dynamic" ? "dyn" : "r-r"}`,
      `${fmt((100 * s) / b)}%`,
      verdict
    ])
    if (!Number.isNaN(row.master)) results.push(result(`${variant} N=${n}: ${row.key} master CPU`, row.master, "ms"))
    results.push(result(`${variant} N=${n}: ${row.key} time`, row.ms / 1000, "s", best && bestMs / 1000))
    results.push(result(`${variant} N=${n}: ${row.key} speed-up`, s, "x", b))
  }
  table(
    `1. ${variant}: sum of numPrimeFactors over 1..${int(n)} = ${int(seq.sum)}, ${SLAVES} slaves (${REPS === 1 ? "one run each" : `median of ${REPS} runs each, in ${REPS} passes`}; load ${loadBefore} -> ${load()})`,
    ["", "time s", "runs s", "speed-up", "cores used", "master CPU ms", "bound", "% of bound", "target"],
    rows
  )
  if (REPS > 1 && best !== undefined) {
    for (const row of [...measured, ...others]) {
      if (row.target !== "dynamic") continue
      const r = paired(sourceKey(row))
      console.log(
        `${row.label} / ${best.label}, time ratio paired by pass: median ${r.median.toFixed(3)} (${r.min.toFixed(3)}-${r.max.toFixed(3)})`
      )
      results.push(result(`${variant} N=${n}: ${row.key} / Piscina best, paired`, r.median, "x", 1))
    }
  }
  const busy = medianOf("contended").ms
  const machineBound = (SLAVES * seq.ms) / busy
  console.log(
    `${SLAVES} threads each running the whole sum at once take ${fmt(busy / 1000)} s each, ${fmt((100 * (busy - seq.ms)) / seq.ms)}% more than one alone: on this machine ${SLAVES} busy cores give at most ${fmtRatio(machineBound)} (before any messaging or imbalance)`
  )
  results.push(result(`${variant} N=${n}: speed-up limit of ${SLAVES} busy cores`, machineBound, "x"))
  if (growMs !== undefined) {
    const timeBound = seq.ms / (growMs + (seq.ms - growMs) / SLAVES)
    console.log(
      `growing one prime table to ${int(n)} takes ${fmt(growMs / 1000)} s (${fmt((100 * growMs) / seq.ms)}% of the sequential time), so in time the dynamic bound is ${fmtRatio(timeBound)}, not the op-count ${fmtRatio(bound.dynamic)}`
    )
    results.push(result(`${variant} N=${n}: table growth in one thread`, growMs / 1000, "s"))
    results.push(result(`${variant} N=${n}: dynamic bound from times`, timeBound, "x"))
  }
  return results
}

// -----------------------------------------------------------------------------------------------
// 2. fine-grained: a trivial task, N items

interface Memory {
  /** peak heapUsed of the main thread (the master) above the baseline, in bytes */
  readonly heap: number
  /** the largest heapUsed right after a full collection (sampled every LIVE_EVERY ms) above the baseline */
  readonly live: number
  /** peak rss of the process (every thread) above the baseline */
  readonly rss: number
}

const SAMPLE_EVERY = 10
const LIVE_EVERY = 200

/** sample the main thread's memory while `effect` runs */
const sampled = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly value: A; readonly memory: Memory }, E, R> =>
  Effect.suspend(() => {
    settle()
    const base = process.memoryUsage()
    let heap = base.heapUsed
    let rss = base.rss
    let live = base.heapUsed
    let lastLive = performance.now()
    const timer = setInterval(() => {
      const now = performance.now()
      if (now - lastLive >= LIVE_EVERY) {
        lastLive = now
        settle()
        live = Math.max(live, process.memoryUsage().heapUsed)
      }
      const m = process.memoryUsage()
      heap = Math.max(heap, m.heapUsed)
      rss = Math.max(rss, m.rss)
    }, SAMPLE_EVERY)
    return effect.pipe(
      Effect.map((value) => ({
        value,
        memory: { heap: heap - base.heapUsed, live: Math.max(0, live - base.heapUsed), rss: rss - base.rss }
      })),
      Effect.ensuring(Effect.sync(() => clearInterval(timer)))
    )
  })

const scale = (sizes: ReadonlyArray<number>) => (QUICK ? sizes.map((s) => s / 100) : sizes)

/**
 * Per pattern: the item counts measured. Master-slave spawns a process per item and work-pushing
 * sends a message per item, so they are measured on fewer items (their memory is bounded by the
 * concurrency / window just the same).
 */
const FINE: ReadonlyArray<{
  readonly key: string
  readonly label: string
  readonly sizes: ReadonlyArray<number>
  readonly run: (nodes: Nodes, n: number) => Effect.Effect<number, unknown, Process.Process>
}> = [
  {
    key: "work-stealing",
    label: "work-stealing, adaptive batches",
    sizes: scale([10_000, 100_000, 1_000_000]),
    run: (nodes, n) =>
      WorkStealing.run({ task: identity, inputs: PrimeFactors.range(1, n), nodes, reduce: PrimeFactors.sum })
  },
  {
    key: "work-pushing",
    label: "work-pushing, window 2",
    sizes: scale([1_000, 10_000, 30_000]),
    run: (nodes, n) =>
      WorkPushing.run({ task: identity, inputs: PrimeFactors.range(1, n), nodes, reduce: PrimeFactors.sum })
  },
  {
    key: "master-slave",
    label: "master-slave, a process per item",
    sizes: scale([300, 1_000, 3_000]),
    run: (nodes, n) =>
      MasterSlave.run({ task: identity, inputs: PrimeFactors.range(1, n), nodes, reduce: PrimeFactors.sum })
  }
]

const MB = 1024 * 1024
/**
 * Flat: against the smallest N, the live heap (right after a full GC) grew by at most LIVE_SLACK;
 * 1,000,000 items kept at even 8 bytes each would exceed it. The peak heapUsed and rss are shown
 * but not judged: they include garbage not yet collected, and V8 sizes its heap to the allocation
 * rate, so they grow with the length of a run even when nothing is kept.
 */
const LIVE_SLACK = 4 * MB
const mb = (bytes: number) => fmt(bytes / MB)

const fineGrained = async (): Promise<Array<Result>> => {
  const loadBefore = load()
  const rows: Array<Array<string>> = []
  const results: Array<Result> = []
  await Effect.runPromise(
    Effect.gen(function* () {
      const t0 = performance.now()
      const context = yield* Layer.build(Backend.workerThreads(SLAVES, { module: TASKS_MODULE }))
      startups.push(performance.now() - t0)
      yield* Backend.startMaster((nodes) =>
        Effect.gen(function* () {
          yield* warmUp(nodes)
          for (const p of FINE) {
            const memories: Array<Memory> = []
            for (const n of p.sizes) {
              step(`fine-grained: ${p.key} N=${n}`)
              const { value, memory } = yield* sampled(
                Effect.gen(function* () {
                  const start = performance.now()
                  const sum = yield* p.run(nodes, n)
                  return { sum, ms: performance.now() - start }
                })
              )
              check(`fine-grained ${p.key} N=${n}`, value.sum, (n * (n + 1)) / 2)
              memories.push(memory)
              const rate = n / (value.ms / 1000)
              const first = memories[0]!
              const last = memory
              const verdict = memories.length === 1 ? "" : last.live <= first.live + LIVE_SLACK ? "flat" : "GROWS"
              rows.push([
                memories.length === 1 ? p.label : "",
                int(n),
                fmt(rate),
                fmt(value.ms / 1000),
                mb(memory.heap),
                mb(memory.live),
                mb(memory.rss),
                verdict
              ])
              results.push(result(`fine-grained ${p.key} N=${n}: throughput`, rate, "items/s"))
              results.push(result(`fine-grained ${p.key} N=${n}: master peak heapUsed`, memory.heap / MB, "MB"))
              results.push(result(`fine-grained ${p.key} N=${n}: master live heap`, memory.live / MB, "MB"))
              results.push(result(`fine-grained ${p.key} N=${n}: peak rss`, memory.rss / MB, "MB"))
            }
          }
        })
      ).pipe(Effect.provideContext(context))
    }).pipe(Effect.scoped)
  )
  table(
    `2. fine-grained: identity (n -> n) over 1..N, lazily, ${SLAVES} worker-thread slaves (one run each; load ${loadBefore} -> ${load()}); memory above the baseline before each run, in MB`,
    ["pattern", "N", "items/s", "time s", "peak heap", "live heap", "peak rss", "live vs smallest N"],
    rows
  )
  console.log(
    `heap: the master's (main thread's) heapUsed, sampled every ${SAMPLE_EVERY} ms; live: its heapUsed right after a full GC, every ${LIVE_EVERY} ms (0 for runs shorter than that); rss: the whole process (slave threads too)`
  )
  console.log(
    `flat: live heap within +${fmt(LIVE_SLACK / MB)} MB of the smallest N's (peak heap and rss include uncollected garbage: V8 grows its heap with the allocation rate). Master-slave (a spawn per item) and work-pushing (a message per item) run on fewer items.`
  )
  return results
}

export const suite: Suite = {
  name: "patterns",
  description: `master-slave, work-pushing and work-stealing on ${SLAVES} worker-thread slaves vs sequential and Piscina${QUICK ? " (quick: small N)" : ""}`,
  run: async () => {
    console.log(
      `N: naive ${int(N.naive)}, primes ${int(N.primes)}; ${cpus().length} cores; load average ${load()} (others' load skews parallel timings)`
    )
    const results: Array<Result> = []
    if (ONLY.has("naive")) results.push(...(await heavy("naive")))
    if (ONLY.has("primes")) results.push(...(await heavy("primes")))
    if (ONLY.has("fine")) results.push(...(await fineGrained()))
    if (startups.length === 0) return results
    const startup = median(startups)
    console.log(
      `\nstart-up of Backend.workerThreads(${SLAVES}) (excluded from the timings): median ${fmt(startup)} ms, min ${fmt(Math.min(...startups))}, max ${fmt(Math.max(...startups))} over ${startups.length} starts`
    )
    results.push(result(`Backend.workerThreads(${SLAVES}) start-up (median)`, startup, "ms"))
    if (tcpStartups.length > 0) {
      const tcp = median(tcpStartups)
      console.log(
        `start-up of ${SLAVES} TCP slave processes and the master (excluded from the timings): median ${fmt(tcp)} ms, min ${fmt(Math.min(...tcpStartups))}, max ${fmt(Math.max(...tcpStartups))} over ${tcpStartups.length} starts`
      )
      results.push(result(`${SLAVES} TCP slave processes start-up (median)`, tcp, "ms"))
    }
    return results
  }
}
