/**
 * The package as a user installs it: `scripts/build.ts` builds it into the node_modules of a
 * project in a temporary directory (Node strips no types there, so the sources would not run),
 * and that project imports it from plain JavaScript, type-checks against its declarations, and
 * runs its `cloud-effect` command.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Run, runNode } from "./helpers.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const require = createRequire(import.meta.url)
const tsc = path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc")

/** run `node ...args` in `cwd` */
const node = (cwd: string, args: ReadonlyArray<string>) => runNode(args, { cwd })

const ok = (run: Run, what: string): Run => {
  assert.strictEqual(run.code, 0, `${what}: exit ${run.code}\n${run.stdout}\n${run.stderr}`)
  return run
}

/** a project in a temporary directory with the built package installed; removed when the scope closes */
const project = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "cloud-effect-package-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
).pipe(
  Effect.tap((dir) =>
    Effect.gen(function* () {
      const modules = path.join(dir, "node_modules")
      ok(yield* node(root, [path.join(root, "scripts", "build.ts"), path.join(modules, "cloud-effect")]), "build")
      // its peer dependencies (and Node's types), as installed next to it
      for (const dependency of ["effect", "@effect/platform-node", "@types/node"]) {
        const target = path.join(modules, dependency)
        fs.mkdirSync(path.dirname(target), { recursive: true })
        fs.symlinkSync(path.join(root, "node_modules", dependency), target, "dir")
      }
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "user", private: true, type: "module" }))
    })
  )
)

const write = (dir: string, file: string, lines: ReadonlyArray<string>) =>
  fs.writeFileSync(path.join(dir, file), `${lines.join("\n")}\n`)

describe("the built package", () => {
  it.live(
    "runs from node_modules: a job on worker-thread slaves from plain JavaScript, its types, and its command",
    () =>
      Effect.gen(function* () {
        const dir = yield* project
        const installed = path.join(dir, "node_modules", "cloud-effect")
        const files = fs.readdirSync(installed, { recursive: true, encoding: "utf8" })
        assert.deepStrictEqual(
          files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !/^(docs|examples)\//.test(f)),
          [],
          "no TypeScript source among the package's modules (only in its docs and examples)"
        )
        // every relative link of its README and docs leads to a file of the package
        const broken = files
          .filter((f) => f.endsWith(".md"))
          .flatMap((f) =>
            [...fs.readFileSync(path.join(installed, f), "utf8").matchAll(/\]\(([^)#\s]+)[^)]*\)/g)]
              .map((m) => m[1]!)
              .filter((link) => !/^[a-z]+:/i.test(link))
              .filter((link) => !fs.existsSync(path.join(installed, path.dirname(f), decodeURIComponent(link))))
              .map((link) => `${f}: ${link}`)
          )
        assert.isTrue(files.includes("README.md") && files.some((f) => f.startsWith("docs")), "README and docs shipped")
        assert.deepStrictEqual(broken, [], "links that lead nowhere in the package")

        // a task of the user's own, and the library's, on two worker-thread slaves
        write(dir, "tasks.mjs", [
          'import { Schema } from "effect"',
          'import { PrimeFactors, Remote, Task } from "cloud-effect"',
          'export const triple = Task.sync("user/triple", Schema.Int, Schema.Int, (n) => 3 * n)',
          "export const remoteTable = Remote.table(...PrimeFactors.tasks, triple)"
        ])
        write(dir, "main.mjs", [
          'import { Effect } from "effect"',
          'import { Backend, PrimeFactors, WorkPushing, WorkStealing } from "cloud-effect"',
          'import { triple } from "./tasks.mjs"',
          "const job = Backend.startMaster((nodes) =>",
          "  Effect.all([",
          "    WorkStealing.run({ task: PrimeFactors.primes, inputs: PrimeFactors.range(1, 10000), nodes, reduce: PrimeFactors.sum }),",
          "    WorkPushing.run({ task: triple, inputs: [1, 2, 3], nodes, reduce: PrimeFactors.sum })",
          "  ])",
          ').pipe(Effect.provide(Backend.workerThreads(2, { module: new URL("./tasks.mjs", import.meta.url) })))',
          "console.log(JSON.stringify(await Effect.runPromise(job)))"
        ])
        const run = ok(yield* node(dir, ["main.mjs"]), "main.mjs")
        assert.deepStrictEqual(JSON.parse(run.stdout), [31985, 18])

        // a module of its own reached by path, and no internals, command or worker entry to import
        write(dir, "paths.mjs", [
          "const code = (specifier) => import(specifier).then(() => 'ok', (e) => e.code)",
          "console.log(JSON.stringify(await Promise.all([",
          '  "cloud-effect/patterns/PrimeFactors", "cloud-effect/internal/node", "cloud-effect/cli/main",',
          '  "cloud-effect/internal/worker-entry"',
          "].map(code))))"
        ])
        const paths = ok(yield* node(dir, ["paths.mjs"]), "paths.mjs")
        assert.deepStrictEqual(JSON.parse(paths.stdout), [
          "ok",
          "ERR_PACKAGE_PATH_NOT_EXPORTED",
          "ERR_PACKAGE_PATH_NOT_EXPORTED",
          "ERR_PACKAGE_PATH_NOT_EXPORTED"
        ])

        // the transports' modules export their public names only (their helpers are internal)
        write(dir, "names.mjs", [
          "const names = async (m) => Object.keys(await import('cloud-effect/transport/' + m)).sort()",
          'console.log(JSON.stringify(await Promise.all(["Memory", "Tcp", "Worker"].map(names))))'
        ])
        const names = ok(yield* node(dir, ["names.mjs"]), "names.mjs")
        assert.deepStrictEqual(JSON.parse(names.stdout), [
          ["MemoryNetwork", "layerMemory", "layerMemoryWith"],
          ["formatAddress", "layerTcp", "make", "parseAddress"],
          ["WorkerError", "WorkerHub", "layerWorkerHub", "mainAddress"]
        ])

        // the declarations: a user's TypeScript checks against them, and a wrong type is caught
        write(dir, "tsconfig.json", [
          JSON.stringify({
            compilerOptions: {
              module: "NodeNext",
              moduleResolution: "NodeNext",
              target: "ES2022",
              strict: true,
              noEmit: true,
              types: ["node"]
            },
            include: ["*.ts"]
          })
        ])
        write(dir, "good.ts", [
          'import { Effect } from "effect"',
          'import { PrimeFactors, Process, type ProcessId } from "cloud-effect"',
          "export const count: number = PrimeFactors.numPrimeFactors(12)",
          "export const self: Effect.Effect<ProcessId.ProcessId, never, Process.Process> = Process.self"
        ])
        const good = yield* node(dir, [tsc, "-p", "."])
        assert.strictEqual(good.code, 0, `tsc: ${good.stdout}${good.stderr}`)
        write(dir, "bad.ts", [
          'import { PrimeFactors } from "cloud-effect"',
          "export const wrong: string = PrimeFactors.numPrimeFactors(12)"
        ])
        const bad = yield* node(dir, [tsc, "-p", "."])
        assert.notStrictEqual(bad.code, 0)
        assert.match(bad.stdout, /bad\.ts\(2,14\): error TS2322: Type 'number' is not assignable to type 'string'/)
        assert.notInclude(bad.stdout, "good.ts")

        // the command, as npm links it (`bin`)
        const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"))
        const bin = path.join(installed, manifest.bin["cloud-effect"])
        assert.match(fs.readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/)
        const demo = ok(yield* node(dir, [bin, "demo", "-n", "10000", "--chunk", "500", "--json"]), "demo")
        const rows: ReadonlyArray<{ readonly pattern: string; readonly result: number; readonly ok: boolean }> =
          JSON.parse(demo.stdout).rows
        assert.deepStrictEqual(
          rows.map((r) => [r.pattern, r.result, r.ok]),
          [
            ["sequential", 31985, true],
            ["master-slave", 31985, true],
            ["work-pushing", 31985, true],
            ["work-stealing", 31985, true]
          ]
        )
      }).pipe(Effect.scoped),
    120_000
  )
})
