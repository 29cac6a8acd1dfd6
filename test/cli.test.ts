/**
 * The cloud-effect command across OS processes on 127.0.0.1: slaves started with
 * `cloud-effect slave`, the job run by `cloud-effect master` (or by the library on TCP), a slave
 * SIGKILLed mid-run, and the errors a user can make.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Schema } from "effect"
import { Backend, PrimeFactors, Remote, Task, WorkStealing } from "../src/index.ts"
import { type Run, runNode } from "./helpers.ts"

const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url))
const cookie = "cli-test-cookie"

/** run the command to its end */
const command = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => runNode([main, ...args], { env })

/** a slave OS process, killed when the scope closes; its address once it listens */
const slaveWith = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly child: ChildProcess; readonly address: string }, Error>((resume) => {
      const child = spawn(process.execPath, [main, "slave", "--listen", "127.0.0.1:0", "--cookie", cookie, ...args], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      child.stdout.on("data", (d) => {
        out += d
        const m = /listening on (tcp:\/\/[^\s]+:\d+)/.exec(out)
        if (m) resume(Effect.succeed({ child, address: m[1]! }))
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`the slave exited early (${code}): ${out}`))))
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )
const slave = slaveWith([])

/** a master OS process that waits for slaves, killed when the scope closes; its address once it listens */
const waitingMaster = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly child: ChildProcess; readonly address: string; readonly run: Promise<Run> }, Error>(
      (resume) => {
        const child = spawn(process.execPath, [main, "master", "--listen", "127.0.0.1:0", ...args], {
          env: { ...process.env, CLOUD_EFFECT_COOKIE: cookie },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let stdout = ""
        let stderr = ""
        const run = new Promise<Run>((done) => child.on("close", (code) => done({ code, stdout, stderr })))
        child.stdout.on("data", (d) => {
          stdout += d
        })
        child.stderr.on("data", (d) => {
          stderr += d
          const m = /listening on (tcp:\/\/[0-9.]+:\d+)/.exec(stderr)
          if (m) resume(Effect.succeed({ child, address: m[1]!, run }))
        })
        child.on("exit", (code) => resume(Effect.fail(new Error(`the master exited early (${code}): ${stderr}`))))
      }
    ),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** a master node on TCP in this process, with these slave processes */
const masterOn = (slaves: ReadonlyArray<string>, table: ReturnType<typeof Remote.table>) =>
  Backend.tcpMaster({ host: "127.0.0.1", port: 0, cookie: Redacted.make(cookie), table, slaves })

describe("cloud-effect over TCP, separate OS processes", () => {
  it.live(
    "master against two slave processes prints the exact sum",
    () =>
      Effect.gen(function* () {
        const [a, b] = [yield* slave, yield* slave]
        const slaves = [a.address, b.address].map((s) => s.replace("tcp://", "")).join(",")
        for (const pattern of ["work-stealing", "master-slave", "work-pushing"]) {
          const run = yield* command(["master", "--slaves", slaves, "--pattern", pattern, "-n", "10000", "--json"], {
            CLOUD_EFFECT_COOKIE: cookie
          })
          assert.strictEqual(run.code, 0, run.stderr)
          assert.strictEqual(JSON.parse(run.stdout).result, 31985, pattern)
        }
        // as a table: the master runs no sequential sum, so it claims no check and no speed-up
        const table = yield* command(["master", "--slaves", slaves, "-n", "10000"], { CLOUD_EFFECT_COOKIE: cookie })
        assert.strictEqual(table.code, 0, table.stderr)
        const lines = table.stdout.trim().split("\n")
        assert.strictEqual(lines[0], "sum of numPrimeFactors (primes) over 1..10000 on 2 TCP slaves")
        assert.match(lines[1]!, /^pattern +result +time ms +slaves$/)
        assert.match(lines[3]!, /^work-stealing +31,985 +\d+ +2$/)
        assert.strictEqual(lines.length, 4)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a slave SIGKILLed mid-run: the result is still exact",
    () =>
      Effect.gen(function* () {
        const [a, b] = [yield* slave, yield* slave]
        let killed = false
        const n = 30_000
        const result = yield* Backend.startMaster((slaves) =>
          WorkStealing.run({
            task: PrimeFactors.naiveRange,
            inputs: PrimeFactors.ranges(1, n, 100),
            nodes: slaves,
            reduce: PrimeFactors.sum,
            onProgress: (p) =>
              Effect.sync(() => {
                if (!killed && p.done >= 30) {
                  killed = true
                  b.child.kill("SIGKILL")
                }
              })
          })
        ).pipe(Effect.provide(masterOn([a.address, b.address], Remote.table(...PrimeFactors.tasks))))
        assert.isTrue(killed, "the slave was killed during the run")
        assert.strictEqual(result, PrimeFactors.sequential(PrimeFactors.numPrimeFactorsNaive, n))
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "slave --load serves a user's tasks from a module whose path has '#' and '%' in it",
    () =>
      Effect.gen(function* () {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "cloud-effect-load-"))),
          (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        const odd = path.join(dir, "tasks #1 100%")
        fs.mkdirSync(odd)
        // a user's module: the same effect and cloud-effect modules as the slave's (by their files)
        const library = new URL("../src/index.ts", import.meta.url).href
        fs.writeFileSync(
          path.join(odd, "tasks.ts"),
          [
            `import { Schema } from ${JSON.stringify(import.meta.resolve("effect"))}`,
            `import { Remote, Task } from ${JSON.stringify(library)}`,
            'export const triple = Task.sync("user/triple", Schema.Int, Schema.Int, (n: number) => 3 * n)',
            "export const remoteTable = Remote.table(triple)"
          ].join("\n")
        )
        const served = yield* slaveWith(["--load", path.join(odd, "tasks.ts")])
        const triple = Task.sync("user/triple", Schema.Int, Schema.Int, (n: number) => 3 * n)
        const sum = yield* Backend.startMaster((slaves) =>
          WorkStealing.run({ task: triple, inputs: [1, 2, 3], nodes: slaves, reduce: PrimeFactors.sum })
        ).pipe(Effect.provide(masterOn([served.address], Remote.table(triple))))
        assert.strictEqual(sum, 18)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "kmeans prints its iterations, equals the local run, and writes an SVG plot",
    () =>
      Effect.gen(function* () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloud-effect-kmeans-"))
        const file = path.join(dir, "plot.svg")
        const run = yield* command(["kmeans", "--points", "5000", "--svg", file])
        assert.strictEqual(run.code, 0, run.stderr)
        assert.match(run.stdout, /iteration {2}1: /)
        assert.include(run.stdout, "equal to the local run: yes")
        assert.include(fs.readFileSync(file, "utf8"), "<svg")
        fs.rmSync(dir, { recursive: true })
      }),
    60_000
  )

  it.live(
    "user errors: one line and a non-zero exit, no stack trace",
    () =>
      Effect.gen(function* () {
        const a = yield* slave
        const address = a.address.replace("tcp://", "")
        const wrongCookie = yield* command(["master", "--slaves", address, "-n", "100", "--cookie", "not-the-cookie"])
        assert.strictEqual(wrongCookie.code, 1)
        assert.match(wrongCookie.stderr.trim(), /^cloud-effect: tcp:\/\/127\.0\.0\.1:\d+: cannot connect: wrong cookie/)
        assert.notInclude(wrongCookie.stderr, "    at ")

        const unreachable = yield* command(["master", "--slaves", "127.0.0.1:1", "--cookie", cookie])
        assert.strictEqual(unreachable.code, 1)
        assert.match(unreachable.stderr.trim(), /^cloud-effect: tcp:\/\/127\.0\.0\.1:1: cannot connect: /)

        const portInUse = yield* command(["slave", "--listen", address, "--cookie", cookie])
        assert.strictEqual(portInUse.code, 1)
        assert.include(portInUse.stderr, "EADDRINUSE")
        assert.notInclude(portInUse.stderr, "    at ")

        const noCookie = yield* command(["master", "--slaves", address], { CLOUD_EFFECT_COOKIE: "" })
        assert.strictEqual(noCookie.code, 1)
        assert.include(noCookie.stderr, "no cookie")

        const badN = yield* command(["master", "--slaves", address, "-n", "0", "--cookie", cookie])
        assert.strictEqual(badN.code, 1)
        assert.match(
          badN.stderr.trim(),
          /^cloud-effect: Invalid value for flag --count: "0"\. Expected: -n must be at least 1/
        )
        assert.strictEqual(badN.stderr.trim().split("\n").length, 1, "one line on stderr")
        assert.strictEqual(badN.stdout, "", "no help on stdout after a user error")

        const bare = yield* command([])
        assert.strictEqual(bare.code, 1)
        assert.include(bare.stdout, "SUBCOMMANDS", "no subcommand: the help")
        assert.strictEqual(bare.stderr, "")

        const badChunk = yield* command(["demo", "-n", "100", "--chunk", "0"])
        assert.strictEqual(badChunk.code, 1)
        assert.match(badChunk.stderr.trim(), /^cloud-effect: .*--chunk must be at least 1 \(got 0\)/)

        const badMaster = yield* command([
          "slave",
          "--listen",
          "127.0.0.1:0",
          "--master",
          "garbage",
          "--cookie",
          cookie
        ])
        assert.strictEqual(badMaster.code, 1, "a slave with a --master it cannot parse stops at once")
        assert.include(badMaster.stderr, "not a tcp://host:port address")

        // checked before anything listens: a node at 0.0.0.0 would give peers an address they cannot use
        const everywhere = yield* command(["slave", "--listen", "0.0.0.0:0", "--cookie", cookie])
        assert.strictEqual(everywhere.code, 1)
        assert.strictEqual(
          everywhere.stderr.trim(),
          "cloud-effect: 0.0.0.0:0: listening on every interface: give --advertise HOST, the host peers reach this node at"
        )

        const badPattern = yield* command(["master", "--slaves", address, "--pattern", "bogus", "--cookie", cookie])
        assert.strictEqual(badPattern.code, 1)
        assert.match(badPattern.stderr.trim(), /^cloud-effect: .*"bogus"/)
        assert.strictEqual(badPattern.stderr.trim().split("\n").length, 1, "one line on stderr")
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "master --wait-slaves waits for slaves that register with --master; a timeout is a one-line error",
    () =>
      Effect.gen(function* () {
        const master = yield* waitingMaster(["--wait-slaves", "2", "--wait-timeout", "30", "-n", "10000", "--json"])
        yield* slaveWith(["--master", master.address])
        // HOST:PORT as --slaves takes it; the slave gives the master the address it is told to advertise
        const advertised = yield* slaveWith([
          "--master",
          master.address.replace("tcp://", ""),
          "--advertise",
          "localhost"
        ])
        assert.match(advertised.address, /^tcp:\/\/localhost:\d+$/)
        const run = yield* Effect.promise(() => master.run)
        assert.strictEqual(run.code, 0, run.stderr)
        const out = JSON.parse(run.stdout)
        assert.strictEqual(out.result, 31985)
        assert.strictEqual(out.pattern, "work-stealing")
        assert.strictEqual(out.slaves.length, 2, "the job ran on both registered slaves")

        const timedOut = yield* command(["master", "--wait-slaves", "1", "--wait-timeout", "1", "--cookie", cookie])
        assert.strictEqual(timedOut.code, 1)
        assert.match(
          timedOut.stderr,
          /^cloud-effect: tcp:\/\/127\.0\.0\.1:\d+: timed out after 1s waiting for 1 slave \(0 known\); a slave with another cookie is refused, with a warning in both nodes' logs$/m
        )
        assert.notInclude(timedOut.stderr, "    at ")

        // a slave with another cookie: the master says why on stderr, and nothing on stdout
        const otherCookie = yield* waitingMaster([
          "--wait-slaves",
          "1",
          "--wait-timeout",
          "3",
          "--cookie",
          "another-cookie",
          "--json"
        ])
        yield* slaveWith(["--master", otherCookie.address])
        const refused = yield* Effect.promise(() => otherCookie.run)
        assert.strictEqual(refused.code, 1)
        assert.strictEqual(refused.stdout, "")
        assert.match(refused.stderr, /WARN .*wrong cookie/)
        assert.match(refused.stderr, /^cloud-effect: .*timed out after 3s waiting for 1 slave \(0 known\)/m)

        const noSlaves = yield* command(["master", "--cookie", cookie])
        assert.strictEqual(noSlaves.code, 1)
        assert.include(noSlaves.stderr, "give --slaves HOST:PORT,... or --wait-slaves N")
      }).pipe(Effect.scoped),
    60_000
  )
})

describe("cloud-effect stops on a signal", () => {
  /**
   * Start `cloud-effect ...args`, send it `signal` once its output matches `ready` (and `after` ms
   * more), and wait for it to exit: its exit code and the ms it took (it is SIGKILLed if the test
   * ends first)
   */
  const stopWith = (args: ReadonlyArray<string>, ready: RegExp, signal: NodeJS.Signals, after = 0) =>
    Effect.acquireUseRelease(
      Effect.sync(() => spawn(process.execPath, [main, ...args], { stdio: ["ignore", "pipe", "pipe"] })),
      (child) =>
        Effect.callback<{
          readonly code: number | null
          readonly ms: number
          readonly output: string
          /** it was running when signalled (not ended before) */
          readonly signalled: boolean
        }>((resume) => {
          let output = ""
          let sent = 0
          const onData = (d: Buffer) => {
            output += d
            if (sent === 0 && ready.test(output)) {
              sent = -1
              setTimeout(() => {
                sent = performance.now()
                child.kill(signal)
              }, after)
            }
          }
          child.stdout.on("data", onData)
          child.stderr.on("data", onData)
          child.on("exit", (code) =>
            resume(Effect.succeed({ code, ms: performance.now() - sent, output, signalled: sent > 0 }))
          )
        }),
      (child) => Effect.sync(() => child.kill("SIGKILL"))
    )

  it.live(
    "Ctrl-C stops the demo during its sequential check, and SIGTERM a slave and a master waiting for slaves",
    () =>
      Effect.gen(function* () {
        // the sequential sum over 1..10^8 would take hours; it ran in one call, and Ctrl-C waited for it
        const demo = yield* stopWith(["demo", "-n", "100000000"], /sum of numPrimeFactors/, "SIGINT", 300)
        assert.isTrue(demo.signalled, demo.output)
        assert.isBelow(demo.ms, 5000, demo.output)
        assert.strictEqual(demo.code, 130, demo.output)

        const slave = yield* stopWith(
          ["slave", "--listen", "127.0.0.1:0", "--cookie", cookie],
          /listening on tcp:/,
          "SIGTERM"
        )
        assert.isTrue(slave.signalled, slave.output)
        assert.isBelow(slave.ms, 5000, slave.output)
        // (the Effect runtime ends an interrupted main with 130, SIGTERM as SIGINT)
        assert.strictEqual(slave.code, 130, slave.output)

        const master = yield* stopWith(
          ["master", "--listen", "127.0.0.1:0", "--wait-slaves", "1", "--wait-timeout", "60", "--cookie", cookie],
          /listening on tcp:/,
          "SIGTERM"
        )
        assert.isTrue(master.signalled, master.output)
        assert.isBelow(master.ms, 5000, master.output)
        assert.strictEqual(master.code, 130, master.output)
      }),
    60_000
  )
})
