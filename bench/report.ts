/**
 * The `report` suite: runs the `local`, `remote` and `patterns` suites, adds a speed-up-by-worker-
 * count sweep, and draws SVG charts into docs/performance/ (shown by docs/performance.md):
 *
 * - messaging throughput against the raw baselines (local Effect Queue, postMessage, node:net);
 * - the job's time by pattern (and the sequential sum and Piscina), for both workload variants;
 * - the fine-grained job's master memory and throughput by N;
 * - work-stealing's speed-up by worker count.
 *
 * `npm run bench -- report` (about 5 minutes); JSON of every suite goes to bench/results/ as usual.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { Backend, PrimeFactors, WorkStealing } from "../src/index.ts"
import { barChart, lineChart } from "./chart.ts"
import { fmt, int, type Result, result, type Suite, table } from "./harness.ts"

const charts = fileURLToPath(new URL("../docs/performance/", import.meta.url))
const results = fileURLToPath(new URL("./results/", import.meta.url))

const runSuite = async (name: string): Promise<ReadonlyArray<Result>> => {
  const suite: Suite = (await import(`./${name}.ts`)).suite
  console.log(`\n=== suite "${name}": ${suite.description}`)
  const out = await suite.run()
  mkdirSync(results, { recursive: true })
  writeFileSync(
    `${results}${name}.json`,
    `${JSON.stringify({ suite: name, date: new Date().toISOString(), results: out }, null, 2)}\n`
  )
  return out
}

const tasks = new URL("./fixtures/tasks.ts", import.meta.url)

/** work-stealing on the naive job with 1, 2 and 4 worker threads, against the sequential sum */
const workerSweep = async (): Promise<Array<Result>> => {
  const n = Number(process.env.BENCH_QUICK === "1" ? 20_000 : 60_000)
  const start = performance.now()
  const expected = PrimeFactors.sequential(PrimeFactors.numPrimeFactorsNaive, n)
  const sequential = performance.now() - start
  const rows: Array<Array<string>> = [["sequential", "1", fmt(sequential), "1.00x"]]
  const out: Array<Result> = [result(`workers sweep N=${n}: sequential`, sequential, "ms")]
  for (const workers of [1, 2, 4]) {
    const ms = await Effect.runPromise(
      Backend.startMaster((slaves) =>
        Effect.gen(function* () {
          const t = performance.now()
          const sum = yield* WorkStealing.run({
            task: PrimeFactors.naiveRange,
            inputs: PrimeFactors.ranges(1, n, 200),
            nodes: slaves,
            reduce: PrimeFactors.sum
          })
          if (sum !== expected) throw new Error(`wrong sum ${sum} (expected ${expected})`)
          return performance.now() - t
        })
      ).pipe(Effect.provide(Backend.workerThreads(workers, { module: tasks })))
    )
    rows.push(["work-stealing", String(workers), fmt(ms), `${(sequential / ms).toFixed(2)}x`])
    out.push(result(`workers sweep N=${n}: work-stealing x${workers}`, ms, "ms", sequential))
  }
  table(
    `speed-up by worker count: naive job over 1..${int(n)} (this machine has 2 cores)`,
    ["run", "workers", "ms", "speed-up"],
    rows
  )
  return out
}

const pick = (rs: ReadonlyArray<Result>, re: RegExp) => rs.filter((r) => re.test(r.name))

/** draw the charts from the suites' results */
export const drawCharts = (
  local: ReadonlyArray<Result>,
  remote: ReadonlyArray<Result>,
  patterns: ReadonlyArray<Result>,
  sweep: ReadonlyArray<Result>
): void => {
  mkdirSync(charts, { recursive: true })

  // 1. messaging throughput as a fraction of the raw baseline (the target: 0.5)
  const messaging = [...local, ...remote].filter((r) => r.unit === "msg/s" && r.baseline !== undefined)
  writeFileSync(
    `${charts}messaging.svg`,
    barChart({
      title: "messaging throughput as a fraction of the raw baseline's (higher is better)",
      unit: "cloud-effect / raw",
      groups: messaging.map((r) => ({
        label: r.name
          .replace(/: one-way throughput \((small|64 KiB), [\d,]+ messages\)/, " $1")
          .replace(/: one-way throughput \(small\) vs frames packed by hand/, " small vs packed")
          .replace(/one-way throughput|throughput/g, "")
          .replace(/[()]/g, "")
          .trim()
          .slice(0, 24),
        bars: [{ label: "cloud-effect / raw baseline", value: r.value / r.baseline! }]
      })),
      reference: { value: 0.5, label: "target 0.5" }
    })
  )

  // 2. the job's time by pattern, per variant
  for (const variant of ["naive", "primes"]) {
    const rows = pick(patterns, new RegExp(`^${variant} N=\\d+: .* time$`))
    const seq = pick(patterns, new RegExp(`^${variant} N=\\d+: sequential$`))[0]
    if (rows.length === 0) continue
    writeFileSync(
      `${charts}job-${variant}.svg`,
      barChart({
        title: `sum of numPrimeFactors (${variant}): time on 2 worker threads (s)`,
        unit: "seconds",
        groups: rows.map((r) => ({
          label: r.name
            .replace(/^.*?: /, "")
            .replace(/ time$/, "")
            .replace(/ \(ranges\)$/, "")
            .replace("work-stealing (numbers)", "work-stealing, numbers")
            .replace("work-stealing (fine ranges)", "work-stealing, fine")
            .slice(0, 22),
          bars: [{ label: "time", value: r.value }]
        })),
        ...(seq === undefined ? {} : { reference: { value: seq.value, label: `sequential ${seq.value.toFixed(2)} s` } })
      })
    )
  }

  // 3. fine-grained job: master memory and throughput by N
  const fine = pick(patterns, /^fine-grained /)
  const series = (metric: string) => {
    const byPattern = new Map<string, Array<readonly [number, number]>>()
    for (const r of fine) {
      const m = /^fine-grained (.+) N=(\d+): (.+)$/.exec(r.name)
      if (m === null || m[3] !== metric) continue
      const points = byPattern.get(m[1]!) ?? []
      points.push([Number(m[2]), r.value])
      byPattern.set(m[1]!, points)
    }
    return [...byPattern].map(([label, points]) => ({ label, points: points.sort((a, b) => a[0] - b[0]) }))
  }
  writeFileSync(
    `${charts}memory-by-n.svg`,
    lineChart({
      title: "fine-grained job: the master's live heap (after GC) by number of items",
      xLabel: "items (N)",
      yLabel: "MB",
      logX: true,
      series: series("master live heap")
    })
  )
  writeFileSync(
    `${charts}throughput-by-n.svg`,
    lineChart({
      title: "fine-grained job: items per second by number of items",
      xLabel: "items (N)",
      yLabel: "items / s",
      logX: true,
      series: series("throughput")
    })
  )

  // 4. speed-up by worker count
  const seq = sweep.find((r) => r.name.endsWith("sequential"))
  if (seq !== undefined) {
    writeFileSync(
      `${charts}speedup-by-workers.svg`,
      lineChart({
        title: "work-stealing speed-up over the sequential sum, by worker threads (2 cores)",
        xLabel: "worker threads",
        yLabel: "speed-up",
        series: [
          {
            label: "work-stealing (naive)",
            points: sweep
              .filter((r) => r.name.includes(" x"))
              .map((r) => [Number(/x(\d+)$/.exec(r.name)![1]), seq.value / r.value] as const)
          }
        ]
      })
    )
  }
  console.log(`\ncharts written to ${charts}`)
}

export const suite: Suite = {
  name: "report",
  description: "all benchmarks, plus SVG charts in docs/performance/",
  run: async () => {
    const local = await runSuite("local")
    const remote = await runSuite("remote")
    const patterns = await runSuite("patterns")
    const sweep = await workerSweep()
    drawCharts(local, remote, patterns, sweep)
    return [...local, ...remote, ...patterns, ...sweep]
  }
}

/** `npm run bench -- charts`: redraw the charts from bench/results/report.json */
export const chartsSuite: Suite = {
  name: "charts",
  description: "redraw the report's charts from bench/results/report.json",
  run: async () => {
    const all: ReadonlyArray<Result> = JSON.parse(readFileSync(`${results}report.json`, "utf8")).results
    const by = (names: RegExp) => all.filter((r) => names.test(r.name))
    drawCharts(
      by(/^(one-way|round-trip|selective)/),
      by(/^(worker|tcp)/),
      by(/^(naive|primes|fine-grained|Backend)/),
      by(/^workers sweep/)
    )
    return []
  }
}
