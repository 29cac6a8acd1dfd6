/**
 * Test helpers: run a program on a fresh node, capture log lines, and run a Node.js program.
 */
import { spawn } from "node:child_process"
import { Effect, type Layer, Logger } from "effect"
import { Node } from "../src/index.ts"

/** run `effect` as a process on a fresh single node */
export const runOnNode = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Node.runProcess(effect).pipe(Effect.provide(Node.layer()))

/** run `effect` as a process on `node` */
export const runOn =
  (node: Node.NodeService) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Node.runProcess(effect).pipe(Effect.provideService(Node.Node, node))

/** a logger layer that records every log message (as text) in `lines` */
export const captureLogs = (lines: Array<string>) =>
  Logger.layer([
    Logger.make((options) => {
      const m = options.message
      lines.push(Array.isArray(m) ? m.map(String).join(" ") : String(m))
    })
  ])

/** a layer that discards nothing else: keep the type simple for callers */
export type CaptureLayer = ReturnType<typeof captureLogs> extends Layer.Layer<infer A, infer _E, infer _R> ? A : never

/** how a program ended */
export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** run `node ...args` (this Node) to its end; the program is killed if the effect is interrupted */
export const runNode = (
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Record<string, string> } = {}
) =>
  Effect.callback<Run>((resume) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: "pipe"
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => {
      stdout += d
    })
    child.stderr.on("data", (d) => {
      stderr += d
    })
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
