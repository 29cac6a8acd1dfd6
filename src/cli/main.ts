#!/usr/bin/env node
/**
 * The `cloud-effect` command.
 *
 *   cloud-effect demo [-n N] [--pattern P] [--workers W] [--window K] [--prefetch] [--json]
 *   cloud-effect slave --listen HOST:PORT --cookie-file F [--load ./my-tasks.js] [--master tcp://HOST:PORT]
 *   cloud-effect master --slaves HOST:PORT,... --pattern P -n N --cookie-file F
 *   cloud-effect master --listen HOST:PORT --wait-slaves K [--wait-timeout S] --pattern P -n N --cookie-file F
 *   cloud-effect kmeans [--points 50000] [--k 5] [--workers 2] [--svg kmeans.svg]
 *
 * Errors a user can make (an unreachable slave, a wrong cookie, a port in use, an unknown pattern, a
 * bad -n) print one line and exit non-zero.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect, identity, Layer, Logger, Option, References } from "effect"
import { CliError, CliOutput, Command, Flag, GlobalFlag } from "effect/cli"
import * as Backend from "../Backend.ts"
import { runMaster, runSlave, tcpAddress } from "./cluster.ts"
import { type Pattern, patterns, runDemo } from "./demo.ts"
import { runKMeans } from "./kmeans.ts"

/** an integer flag that must be at least `min` */
const atLeast = (flag: Flag.Flag<number>, name: string, min: number) =>
  flag.pipe(
    Flag.filter(
      (n) => n >= min,
      (n) => `${name} must be at least ${min} (got ${n})`
    )
  )

/** an integer flag of at least `min`, with its default (said in its description) */
const intFlag = (name: string, min: number, fallback: number, description: string) =>
  atLeast(
    Flag.Int(name).pipe(Flag.withDescription(`${description} (default ${fallback})`), Flag.withDefault(fallback)),
    `--${name}`,
    min
  )

/** worker-thread slave nodes (demo, kmeans) */
const workersFlag = Flag.Int("workers").pipe(
  Flag.withDescription("worker-thread slave nodes, 1 to 64 (default 2)"),
  Flag.withDefault(2),
  Flag.filter(
    (n) => n >= 1 && n <= 64,
    (n) => `--workers must be between 1 and 64 (got ${n})`
  )
)

/** the flags of the demo job that `demo` and `master` share; `chunk` and `n` differ in their defaults */
const jobFlags = (defaults: { readonly n: number; readonly chunk: number }) => ({
  n: atLeast(
    Flag.Int("count").pipe(
      Flag.withAlias("n"),
      Flag.withDescription(`sum numPrimeFactors over 1..n (default ${defaults.n})`),
      Flag.withDefault(defaults.n)
    ),
    "-n",
    1
  ),
  variant: Flag.Literals("variant", ["primes", "naive"]).pipe(
    Flag.withDescription("numPrimeFactors by trial division by the primes, or by every m (default primes)"),
    Flag.withDefault("primes" as const)
  ),
  chunk: intFlag("chunk", 1, defaults.chunk, "numbers per work item"),
  window: intFlag("window", 1, 2, "work-pushing only: items waiting in a slave's mailbox at most"),
  prefetch: Flag.Boolean("prefetch").pipe(
    Flag.withDescription(
      "work-stealing only: ask for the next batch before working on this one (default on; --no-prefetch turns it off)"
    ),
    Flag.withDefault(true)
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print JSON instead of a table"), Flag.withDefault(false))
})

const demo = Command.make(
  "demo",
  {
    ...jobFlags({ n: 300_000, chunk: 1500 }),
    pattern: Flag.Literals("pattern", ["all", ...patterns]).pipe(
      Flag.withDescription("which pattern to run (default all, one after the other)"),
      Flag.withDefault("all" as const)
    ),
    workers: workersFlag
  },
  (config) =>
    Effect.asVoid(
      runDemo({
        ...config,
        patterns: config.pattern === "all" ? patterns : [config.pattern as Pattern]
      })
    )
).pipe(Command.withDescription("run the demo job with each pattern on local worker threads"))

const cookieFlags = {
  cookie: Flag.String("cookie").pipe(Flag.withDescription("the cluster's shared secret"), Flag.optional),
  cookieFile: Flag.String("cookie-file").pipe(
    Flag.withDescription("a file whose first line is the cookie (or set CLOUD_EFFECT_COOKIE)"),
    Flag.optional
  )
}

/**
 * The transport's warnings (a refused cookie, a lost connection) shown: they are for the operators
 * of slaves and of a master that waits for slaves; other commands print their own one-line errors.
 * A `--log-level` given on the command line is kept.
 */
const withWarnings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(GlobalFlag.LogLevel, (chosen) =>
    Option.isSome(chosen) ? effect : Effect.provideService(effect, References.MinimumLogLevel, "Warn")
  )

const cookieOf = (flags: { cookie: Option.Option<string>; cookieFile: Option.Option<string> }) =>
  Backend.cookie({ cookie: Option.getOrUndefined(flags.cookie), file: Option.getOrUndefined(flags.cookieFile) })

const slave = Command.make(
  "slave",
  {
    listen: Flag.String("listen").pipe(Flag.withDescription("HOST:PORT to listen on (port 0: any free port)")),
    advertise: Flag.String("advertise").pipe(
      Flag.withDescription("the host other nodes reach this one at (when listening on 0.0.0.0)"),
      Flag.optional
    ),
    load: Flag.String("load").pipe(Flag.withDescription("a module exporting your `remoteTable`"), Flag.optional),
    master: Flag.String("master").pipe(
      Flag.withDescription("register with this master (HOST:PORT or tcp://HOST:PORT)"),
      Flag.optional
    ),
    ...cookieFlags
  },
  (config) =>
    Effect.flatMap(cookieOf(config), (cookie) =>
      runSlave({
        listen: config.listen,
        advertise: Option.getOrUndefined(config.advertise),
        cookie,
        load: Option.getOrUndefined(config.load),
        master: Option.getOrUndefined(config.master)
      })
    ).pipe(withWarnings)
).pipe(Command.withDescription("start a slave node on TCP and serve until stopped"))

const master = Command.make(
  "master",
  {
    slaves: Flag.String("slaves").pipe(
      Flag.withDescription("the slaves, HOST:PORT,HOST:PORT,... (more can register: see --wait-slaves)"),
      Flag.withDefault("")
    ),
    waitSlaves: Flag.Int("wait-slaves").pipe(
      Flag.withDescription(
        "wait until N slaves are known (those of --slaves plus those started with --master pointing here)"
      ),
      Flag.filter(
        (n) => n >= 1,
        (n) => `--wait-slaves must be at least 1 (got ${n})`
      ),
      Flag.optional
    ),
    waitTimeout: Flag.Int("wait-timeout").pipe(
      Flag.withDescription("seconds to wait for --wait-slaves before giving up (default 60)"),
      Flag.withDefault(60),
      Flag.filter(
        (n) => n >= 1,
        (n) => `--wait-timeout must be at least 1 second (got ${n})`
      )
    ),
    listen: Flag.String("listen").pipe(
      Flag.withDescription("HOST:PORT of the master node (default 127.0.0.1:0: any free port)"),
      Flag.withDefault("127.0.0.1:0")
    ),
    advertise: Flag.String("advertise").pipe(
      Flag.withDescription("the host the slaves reach the master at (when listening on 0.0.0.0)"),
      Flag.optional
    ),
    pattern: Flag.Literals("pattern", patterns).pipe(
      Flag.withDescription("how the work is handed out (default work-stealing)"),
      Flag.withDefault("work-stealing" as const)
    ),
    ...jobFlags({ n: 100_000, chunk: 100 }),
    ...cookieFlags
  },
  (config) =>
    Effect.flatMap(
      cookieOf(config),
      (cookie) =>
        Effect.asVoid(
          runMaster({
            ...config,
            advertise: Option.getOrUndefined(config.advertise),
            waitSlaves: Option.getOrUndefined(config.waitSlaves),
            cookie,
            slaves: config.slaves
              .split(",")
              .map((s) => s.trim())
              .filter((s) => s !== "")
              .map(tcpAddress)
          })
        )
      // a master that waits for slaves to register: a slave with another cookie is refused there
    ).pipe(Option.isSome(config.waitSlaves) ? withWarnings : identity)
).pipe(Command.withDescription("run the demo job on TCP slaves"))

const kmeans = Command.make(
  "kmeans",
  {
    points: intFlag("points", 5, 50_000, "random points, in k clusters"),
    k: Flag.Int("k").pipe(
      Flag.withDescription("clusters to find, 1 to 64 (default 5)"),
      Flag.withDefault(5),
      Flag.filter(
        (n) => n >= 1 && n <= 64,
        (n) => `--k must be between 1 and 64 (got ${n})`
      )
    ),
    workers: workersFlag,
    seed: Flag.Int("seed").pipe(
      Flag.withDescription("seed of the random points (default 1: the same plot each run)"),
      Flag.withDefault(1)
    ),
    svg: Flag.String("svg").pipe(
      Flag.withDescription("where to write the plot (default kmeans.svg)"),
      Flag.withDefault("kmeans.svg")
    )
  },
  (config) => Effect.asVoid(runKMeans(config))
).pipe(Command.withDescription("k-means on map-reduce over local worker threads; writes an SVG plot"))

const cli = Command.make("cloud-effect").pipe(
  Command.withDescription("Cloud Haskell's process model for Effect"),
  Command.withSubcommands([demo, slave, master, kmeans])
)

/** one line for the user, no stack trace, exit code 1 */
const oneLine = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const e = error.value as { readonly message?: unknown; readonly _tag?: unknown }
    return typeof e.message === "string" && e.message !== "" ? e.message : String(e._tag ?? e)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "failed"
}

/** the first line of a cli parse error, e.g. `Invalid value for flag --count: "0". Expected: ...` */
const cliErrorLine = (error: CliError.CliError): string => {
  const errors = (error as { readonly errors?: ReadonlyArray<{ readonly message: string }> }).errors
  const first = errors !== undefined && errors.length > 0 ? errors[0]!.message : error.message
  return `${first.split("\n")[0]} (see cloud-effect --help)`
}

/**
 * Help and the version as usual, on stdout; an invalid invocation shows nothing here (neither the
 * whole help on stdout nor the parser's own errors): the one line below says what was wrong.
 */
const presenter = CliOutput.layerPresenter({
  present: (event) => (event._tag === "InvalidInvocation" ? Effect.void : CliOutput.defaultPresenter.present(event))
})

Command.run(cli, { version: "0.1.0" }).pipe(
  Effect.catchCause((cause) => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.void
    const error = Cause.findErrorOption(cause)
    // no subcommand: the help, already shown, is the answer
    if (Option.isSome(error) && error.value instanceof CliError.ShowHelp && error.value.errors.length === 0) {
      return Effect.sync(() => {
        process.exitCode = 1
      })
    }
    const line = Option.isSome(error) && CliError.isCliError(error.value) ? cliErrorLine(error.value) : oneLine(cause)
    return Effect.andThen(
      Console.error(`cloud-effect: ${line}`),
      Effect.sync(() => {
        process.exitCode = 1
      })
    )
  }),
  Effect.provide(Layer.merge(NodeServices.layer, presenter)),
  // errors only: the commands that serve or wait show warnings too (`withWarnings`)
  Effect.provideService(References.MinimumLogLevel, "Error"),
  // log lines go to stderr: stdout is the command's output (a table, JSON, the slave's address)
  Effect.provideService(Logger.LogToStderr, true),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
