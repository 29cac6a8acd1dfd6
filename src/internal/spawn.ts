/**
 * Starting a process on a node.
 * @internal
 */
import { Effect, type Fiber } from "effect"
import { CurrentProcess } from "./context.ts"
import type { LocalNode, ProcessState } from "./node.ts"

/**
 * Start `body` as a new process of `node`. `setup` runs before the process's fiber starts (links and
 * monitors by the spawner go there, so none can miss the process's death). The process owns a Scope
 * (finalizers added by the body run when it ends) and is interrupted when the node's scope closes.
 */
export const start = <A, E, R>(
  node: LocalNode,
  body: Effect.Effect<A, E, R>,
  setup?: (state: ProcessState) => void
): Effect.Effect<readonly [ProcessState, Fiber.Fiber<A, E>], never, Exclude<R, CurrentProcess>> =>
  Effect.suspend(() => {
    const state = node.newProcess()
    setup?.(state)
    const program = body.pipe(Effect.scoped, Effect.provideService(CurrentProcess, state)) as Effect.Effect<
      A,
      E,
      Exclude<R, CurrentProcess>
    >
    return Effect.map(Effect.forkIn(program, node.scope), (fiber) => {
      state.fiber = fiber as Fiber.Fiber<unknown, unknown>
      // an observer, not onExit: a fiber interrupted before it started never runs its effect
      fiber.addObserver((exit) => node.died(state, node.reasonOf(state, exit)))
      if (state.signal !== undefined) fiber.interruptUnsafe()
      return [state, fiber] as const
    })
  })
