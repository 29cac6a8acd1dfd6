/**
 * Benchmark runner: `npm run bench -- <suite>` (that is, `node bench/main.ts <suite>`).
 *
 * Each suite is a module exporting a `Suite` (see `harness.ts`), registered below by name and loaded
 * only when asked for. The suite prints its tables on stdout; the runner writes its results to
 * `bench/results/<suite>.json` as `{ suite, date, node, cpus, results: [{ name, value, unit, baseline?, ratio? }] }`.
 * Garbage is collected before each measurement (see `settle` in `harness.ts`).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import type { Suite } from "./harness.ts"

const suites: Readonly<Record<string, () => Promise<Suite>>> = {
  remote: async () => (await import("./remote.ts")).suite,
  local: async () => (await import("./local.ts")).suite,
  patterns: async () => (await import("./patterns.ts")).suite,
  report: async () => (await import("./report.ts")).suite,
  charts: async () => (await import("./report.ts")).chartsSuite
}

const main = async (): Promise<number> => {
  const names = Object.keys(suites)
  const name = process.argv[2]
  const load = name === undefined ? undefined : suites[name]
  if (load === undefined || !Object.hasOwn(suites, name!)) {
    const what = name === undefined ? "no benchmark suite given" : `unknown benchmark suite ${JSON.stringify(name)}`
    console.error(`bench: ${what}; usage: npm run bench -- <suite>, where <suite> is one of: ${names.join(", ")}`)
    return 2
  }
  const suite = await load()
  const cpuList = cpus()
  console.log(`cloud-effect benchmarks: suite "${suite.name}": ${suite.description}`)
  console.log(`node ${process.version}, ${cpuList.length} x ${cpuList[0]?.model ?? "unknown cpu"}`)
  const started = performance.now()
  const results = await suite.run()
  const seconds = (performance.now() - started) / 1000
  const dir = fileURLToPath(new URL("./results/", import.meta.url))
  mkdirSync(dir, { recursive: true })
  const file = `${dir}${suite.name}.json`
  const report = {
    suite: suite.name,
    date: new Date().toISOString(),
    node: process.version,
    cpus: { count: cpuList.length, model: cpuList[0]?.model ?? "unknown" },
    durationSeconds: Math.round(seconds * 10) / 10,
    results
  }
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  console.log(`\nsuite "${suite.name}" took ${seconds.toFixed(1)} s; results written to ${file}`)
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error("bench: failed:", error)
    process.exitCode = 1
  }
)
