#!/usr/bin/env node
/**
 * The `cloud-effect` command.
 *
 *   cloud-effect demo [-n N] [--pattern P] [--workers W] [--window K] [--prefetch] [--json]
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { type Pattern, patterns, runDemo } from "./demo.ts"

const demo = Command.make(
  "demo",
  {
    n: Flag.Int("count").pipe(
      Flag.withAlias("n"),
      Flag.withDescription("sum numPrimeFactors over 1..n"),
      Flag.withDefault(100_000),
      Flag.filter(
        (n) => n >= 1,
        (n) => `-n must be at least 1 (got ${n})`
      )
    ),
    pattern: Flag.Literals("pattern", ["all", ...patterns]).pipe(
      Flag.withDescription("which pattern to run"),
      Flag.withDefault("all" as const)
    ),
    workers: Flag.Int("workers").pipe(
      Flag.withDescription("worker-thread slave nodes"),
      Flag.withDefault(2),
      Flag.filter(
        (n) => n >= 1 && n <= 64,
        (n) => `--workers must be between 1 and 64 (got ${n})`
      )
    ),
    window: Flag.Int("window").pipe(Flag.withDescription("work-pushing: items per slave"), Flag.withDefault(2)),
    prefetch: Flag.Boolean("prefetch").pipe(
      Flag.withDescription("work-stealing: ask for work ahead"),
      Flag.withDefault(true)
    ),
    variant: Flag.Literals("variant", ["primes", "naive"]).pipe(
      Flag.withDescription("numPrimeFactors by primes or by every m"),
      Flag.withDefault("primes" as const)
    ),
    chunk: Flag.Int("chunk").pipe(Flag.withDescription("numbers per item"), Flag.withDefault(100)),
    json: Flag.Boolean("json").pipe(Flag.withDescription("print JSON instead of a table"), Flag.withDefault(false))
  },
  (config) =>
    Effect.asVoid(
      runDemo({
        ...config,
        patterns: config.pattern === "all" ? patterns : [config.pattern as Pattern]
      })
    )
).pipe(Command.withDescription("run the demo job with each pattern on local worker threads"))

const cli = Command.make("cloud-effect").pipe(
  Command.withDescription("Cloud Haskell's process model for Effect"),
  Command.withSubcommands([demo])
)

Command.run(cli, { version: "0.1.0" }).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
