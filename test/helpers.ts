/**
 * Test helpers: run a program on a fresh node, and capture log lines.
 */
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
