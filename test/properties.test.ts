/**
 * Property-based tests of the process layer against simple reference models:
 * 1. per-pair FIFO between local processes, under random interleavings;
 * 2. selective receive (`expect`, `receiveWait`, `receiveTimeout`, `matchIf`, `matchAny`) against a list model,
 *    with the messages sent locally and, again, from another node;
 * 3. merged channel ports (`mergePortsBiased`, `mergePortsRR`, nested merges) against a queue model;
 * 4. per-pair FIFO across two nodes on the in-memory transport (remote messages are encoded).
 *
 * Inputs are Schema-derived (effect's own `Arbitrary` engine through `it.effect.prop`). `it.effect` gives each
 * run a fresh Scope and TestClock; nothing here sleeps on real time (waiting for in-flight messages only
 * yields to the event loop with `setImmediate`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Channel, Message, Node, Process, type ProcessId, Transport } from "../src/index.ts"

// -----------------------------------------------------------------------------------------------
// shared helpers

const intBetween = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
const arrayBetween = <S extends Schema.Top>(item: S, min: number, max: number) =>
  Schema.Array(item).check(Schema.isBetweenLength(min, max))

/** yield to the event loop (not the clock): lets queued microtasks, such as in-memory frames, run */
const tick = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const repeat = (times: number, effect: Effect.Effect<void>): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let i = 0; i < times; i++) yield* effect
  })

/** run `body` while a helper fiber keeps moving the TestClock forward, so a timeout inside `body` fires */
const withClockDriver = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    let done = false
    const driver = yield* Effect.forkChild(
      Effect.gen(function* () {
        while (!done) {
          yield* Effect.yieldNow
          yield* TestClock.adjust("1 second")
        }
      })
    )
    const result = yield* body.pipe(Effect.ensuring(Effect.sync(() => (done = true))))
    yield* Fiber.interrupt(driver)
    return result
  })

const config = (runs: number, size = 30) => ({ timeout: 20_000, arbitrary: { runs, size } })

// -----------------------------------------------------------------------------------------------
// 1 and 4: per-pair FIFO

class Seq extends Schema.TaggedClass<Seq>()("Seq", { sender: Schema.Int, n: Schema.Int }) {}
class Stop extends Schema.TaggedClass<Stop>()("Stop", {}) {}

const SenderPlan = Schema.Struct({
  /** how many messages this sender sends */
  count: intBetween(0, 20),
  /** `Effect.yieldNow`s before each send (cycled) */
  yields: arrayBetween(intBetween(0, 3), 1, 6),
  /** spawn order: senders are started sorted by this key */
  order: intBetween(0, 100),
  /** which node the sender runs on (only the two-node property uses it) */
  remote: Schema.Boolean
})
type SenderPlan = typeof SenderPlan.Type

const FifoPlan = Schema.Struct({
  senders: arrayBetween(SenderPlan, 1, 5),
  /** receive with `expect`, or sender by sender with `receiveWait(matchIf(Seq, sender === s))` */
  selective: Schema.Boolean,
  /** order in which the selective receiver drains senders (indices taken modulo the sender count) */
  drainOrder: arrayBetween(intBetween(0, 4), 0, 5),
  /** `Effect.yieldNow`s between the receiver's receives (cycled) */
  receiverYields: arrayBetween(intBetween(0, 3), 1, 6)
})
type FifoPlan = typeof FifoPlan.Type

const senderBody = (index: number, plan: SenderPlan, to: ProcessId.ProcessId) =>
  Effect.gen(function* () {
    for (let n = 0; n < plan.count; n++) {
      yield* repeat(plan.yields[n % plan.yields.length]!, Effect.yieldNow)
      yield* Process.send(to, new Seq({ sender: index, n }))
    }
  })

/** the sender order the selective receiver drains in: `drainOrder` first, then the rest, no repeats */
const drainSequence = (plan: FifoPlan): ReadonlyArray<number> => {
  const out: Array<number> = []
  for (const i of [...plan.drainOrder.map((d) => d % plan.senders.length), ...plan.senders.keys()]) {
    if (!out.includes(i)) out.push(i)
  }
  return out
}

const receiverBody = (plan: FifoPlan, ready: Deferred.Deferred<ProcessId.ProcessId>, got: Array<Seq>) =>
  Effect.gen(function* () {
    yield* Deferred.succeed(ready, yield* Process.self)
    let k = 0
    const pause = () => repeat(plan.receiverYields[k++ % plan.receiverYields.length]!, Effect.yieldNow)
    if (plan.selective) {
      for (const s of drainSequence(plan)) {
        for (let n = 0; n < plan.senders[s]!.count; n++) {
          yield* pause()
          got.push(
            yield* Process.receiveWait(
              Process.matchIf(
                Seq,
                (m) => m.sender === s,
                (m) => Effect.succeed(m)
              )
            )
          )
        }
      }
    } else {
      const total = plan.senders.reduce((sum, s) => sum + s.count, 0)
      for (let i = 0; i < total; i++) {
        yield* pause()
        got.push(yield* Process.expect(Seq))
      }
    }
    // sent (by a process of this node) once every sender is done and in-flight frames were delivered
    yield* Process.expect(Stop)
    const extra = yield* Process.expectTimeout(Seq, 0)
    const info = yield* Process.getProcessInfo(yield* Process.self)
    return { extra: Option.getOrUndefined(extra), left: Option.map(info, (i) => i.messageQueueLength) }
  })

/**
 * Run the plan: the receiver on `receiverNode`, each sender on `senderNode(plan)`, senders started in
 * `order`. Checks that every sender's messages arrive in order, none lost, none duplicated.
 */
const checkFifo = (plan: FifoPlan, receiverNode: Node.NodeService, senderNode: (s: SenderPlan) => Node.NodeService) =>
  Effect.gen(function* () {
    const ready = yield* Deferred.make<ProcessId.ProcessId>()
    const got: Array<Seq> = []
    const receiver = yield* Effect.forkChild(
      Node.runProcess(receiverBody(plan, ready, got)).pipe(Effect.provideService(Node.Node, receiverNode))
    )
    const to = yield* Deferred.await(ready)
    const spawnOrder = [...plan.senders.keys()].sort((a, b) => plan.senders[a]!.order - plan.senders[b]!.order || a - b)
    const senders: Array<Fiber.Fiber<void, Node.ProcessDied>> = []
    for (const i of spawnOrder) {
      const s = plan.senders[i]!
      senders.push(
        yield* Effect.forkChild(
          Node.runProcess(senderBody(i, s, to)).pipe(Effect.provideService(Node.Node, senderNode(s)))
        )
      )
    }
    for (const f of senders) yield* Fiber.join(f)
    // every send happened; give in-flight frames and the receiver time to finish, for as long as the
    // receiver makes progress (bounded: a lost message must fail the property, not hang it)
    const total = plan.senders.reduce((sum, s) => sum + s.count, 0)
    for (let idle = 0; got.length < total && idle < 100; ) {
      const before = got.length
      yield* tick
      idle = got.length === before ? idle + 1 : 0
    }
    yield* repeat(5, tick)
    const received = got.length
    if (received === total) {
      yield* Node.runProcess(Process.send(to, new Stop())).pipe(Effect.provideService(Node.Node, receiverNode))
    }
    const perSender = plan.senders.map((_, i) => got.filter((m) => m.sender === i).map((m) => m.n))
    const expected = plan.senders.map((s) => Array.from({ length: s.count }, (_, n) => n))
    assert.deepStrictEqual(perSender, expected, `per-sender sequences (received ${received} of ${total})`)
    assert.strictEqual(received, total, "messages received")
    const result = yield* Fiber.join(receiver)
    assert.isUndefined(result.extra, "a Seq message left over after all were received")
    assert.deepStrictEqual(result.left, Option.some(0), "receiver mailbox empty at the end")
  })

describe("properties: per-pair FIFO", () => {
  it.effect.prop(
    "local: each sender's messages arrive in send order, none lost or duplicated",
    { plan: FifoPlan },
    ({ plan }) =>
      Effect.gen(function* () {
        const node = yield* Node.make()
        yield* checkFifo(plan, node, () => node)
      }),
    config(50, 40)
  )

  it.effect.prop(
    "two nodes on the in-memory transport: per-sender order survives encoding",
    { plan: FifoPlan },
    ({ plan }) =>
      Effect.gen(function* () {
        const a = yield* Node.make({ name: "a" })
        const b = yield* Node.make({ name: "b" })
        // receiver on b; senders on a (remote, encoded) or b (local), mixed
        yield* checkFifo(plan, b, (s) => (s.remote ? a : b))
      }).pipe(Effect.provide(Transport.layerMemory)),
    config(50, 40)
  )
})

// -----------------------------------------------------------------------------------------------
// 2: selective receive against a list model

class A extends Schema.TaggedClass<A>()("A", { v: Schema.Int }) {}
class B extends Schema.TaggedClass<B>()("B", { v: Schema.Int }) {}
class C extends Schema.TaggedClass<C>()("C", { v: Schema.Int }) {}
class D extends Schema.TaggedClass<D>()("D", { v: Schema.Int }) {}

type Msg = A | B | C | D | number | string
const AnyMsg = Schema.Union([A, B, C, D, Schema.Number, Schema.String])

const Kind = Schema.Literals(["A", "B", "C", "D", "num", "str"])
type Kind = typeof Kind.Type
const MsgSpec = Schema.Struct({ kind: Kind, v: intBetween(-20, 20) })
type MsgSpec = typeof MsgSpec.Type

const build = (spec: MsgSpec): Msg => {
  switch (spec.kind) {
    case "A":
      return new A({ v: spec.v })
    case "B":
      return new B({ v: spec.v })
    case "C":
      return new C({ v: spec.v })
    case "D":
      return new D({ v: spec.v })
    case "num":
      return spec.v
    case "str":
      return "s".repeat(Math.abs(spec.v) % 4)
  }
}

/**
 * What a matcher accepts: one class, a primitive, unions (several mailbox keys: the merged key walk), a
 * tagless struct and `Unknown` (any key: the full scan), and `matchAny`.
 */
const Target = Schema.Literals(["A", "B", "C", "D", "num", "str", "AorB", "CorNum", "struct", "unknown", "any"])
type Target = typeof Target.Type
const Guard = Schema.Literals(["none", "even", "odd", "positive"])
type Guard = typeof Guard.Type

const schemaOf = (target: Exclude<Target, "any">): Schema.Schema<unknown> => {
  switch (target) {
    case "A":
      return A as Schema.Schema<unknown>
    case "B":
      return B as Schema.Schema<unknown>
    case "C":
      return C as Schema.Schema<unknown>
    case "D":
      return D as Schema.Schema<unknown>
    case "num":
      return Schema.Number as Schema.Schema<unknown>
    case "str":
      return Schema.String as Schema.Schema<unknown>
    case "AorB":
      return Schema.Union([A, B]) as Schema.Schema<unknown>
    case "CorNum":
      return Schema.Union([C, Schema.Number]) as Schema.Schema<unknown>
    case "struct":
      return Schema.Struct({ v: Schema.Int }) as Schema.Schema<unknown>
    case "unknown":
      return Schema.Unknown
  }
}

/** the model's idea of what a target accepts */
const accepts = (target: Target, m: Msg): boolean => {
  switch (target) {
    case "A":
      return m instanceof A
    case "B":
      return m instanceof B
    case "C":
      return m instanceof C
    case "D":
      return m instanceof D
    case "num":
      return typeof m === "number"
    case "str":
      return typeof m === "string"
    case "AorB":
      return m instanceof A || m instanceof B
    case "CorNum":
      return m instanceof C || typeof m === "number"
    case "struct":
      return typeof m === "object"
    case "unknown":
    case "any":
      return true
  }
}

const numeric = (m: unknown): number =>
  typeof m === "number" ? m : typeof m === "string" ? m.length : (m as { readonly v: number }).v

const guardFn =
  (guard: Guard) =>
  (m: unknown): boolean => {
    const n = numeric(m)
    switch (guard) {
      case "none":
        return true
      case "even":
        return n % 2 === 0
      case "odd":
        return n % 2 !== 0
      case "positive":
        return n > 0
    }
  }

type MatcherSpec = { readonly target: Target; readonly guard: Guard }

/**
 * How an op is run. When the model says a message is accepted: `block` = `receiveWait`/`expect`, `poll` =
 * timeout 0, `timeout` = a 1 s timeout (must answer at once). When nothing is accepted: `poll` and `block` poll
 * (and must get none), `timeout` lets the TestClock run out the 1 s timeout (must get none and lose nothing),
 * `late` blocks while another fiber of the process sends a message one of the matchers accepts (the blocked
 * receive's waiter path), built from the `late` seed by `lateFor`.
 */
const Mode = Schema.Literals(["block", "poll", "timeout", "late"])

/** the plans: messages put in the mailbox first, then sends and receives; matchers drawn from `targets` */
const selectivePlan = (targets: ReadonlyArray<Target>) => {
  const MatcherSpec = Schema.Struct({ target: Schema.Literals(targets), guard: Guard })
  const Op = Schema.Union([
    Schema.TaggedStruct("Send", { msg: MsgSpec }),
    Schema.TaggedStruct("Expect", {
      target: Schema.Literals(targets.filter((t): t is Exclude<Target, "any"> => t !== "any")),
      mode: Mode,
      late: MsgSpec
    }),
    Schema.TaggedStruct("Receive", { matchers: arrayBetween(MatcherSpec, 1, 4), mode: Mode, late: MsgSpec })
  ])
  return Schema.Struct({ initial: arrayBetween(MsgSpec, 0, 30), ops: arrayBetween(Op, 0, 60) })
}
type SelectivePlan = ReturnType<typeof selectivePlan>["Type"]

const LocalSelectivePlan = selectivePlan(Target.literals)
/**
 * Across nodes: the same, less `Schema.Struct({ v })` and `Schema.Unknown` (a remote message is decoded with
 * the receiver's schema: a struct gives a plain object, not the sender's class instance, and `Unknown` has no
 * binary form to decode with, so it never accepts a remote message; both differ from the local behaviour).
 */
const RemoteSelectivePlan = selectivePlan(Target.literals.filter((t) => t !== "struct" && t !== "unknown"))

/** the model: the oldest message any matcher accepts, and the first matcher (list order) that accepts it */
const modelFind = (queue: ReadonlyArray<Msg>, matchers: ReadonlyArray<MatcherSpec>) => {
  for (let i = 0; i < queue.length; i++) {
    const m = queue[i]!
    for (let j = 0; j < matchers.length; j++) {
      const spec = matchers[j]!
      if (accepts(spec.target, m) && (spec.target === "any" || guardFn(spec.guard)(m))) return { i, j }
    }
  }
  return undefined
}

/** a message that one of the matchers (chosen by `seed`) accepts: what a `late` op sends to a waiting receive */
const lateFor = (matchers: ReadonlyArray<MatcherSpec>, seed: MsgSpec): Msg => {
  const spec = matchers[Math.abs(seed.v) % matchers.length]!
  const k = Math.abs(seed.v)
  const v =
    spec.guard === "even" ? 2 * k : spec.guard === "odd" ? 2 * k + 1 : spec.guard === "positive" ? k + 1 : seed.v
  const kind: Kind =
    spec.target === "AorB"
      ? k % 2 === 0
        ? "A"
        : "B"
      : spec.target === "CorNum"
        ? k % 2 === 0
          ? "C"
          : "num"
        : spec.target === "struct"
          ? (["A", "B", "C", "D"] as const)[k % 4]!
          : spec.target === "unknown" || spec.target === "any"
            ? seed.kind
            : spec.target
  return kind === "str" ? "s".repeat(Math.abs(v)) : build({ kind, v })
}

interface Taken {
  readonly index: number
  readonly value: unknown
}

const toMatch = (spec: MatcherSpec, index: number) => {
  const handler = (value: unknown) => Effect.succeed<Taken>({ index, value })
  if (spec.target === "any") {
    return Process.matchAny((m) =>
      Effect.gen(function* () {
        const value = Option.getOrThrow(Process.unwrapMessage(m, AnyMsg))
        assert.strictEqual(m.key, Message.keyOf(value), "matchAny: key")
        assert.isDefined(m.sender, "matchAny: sender")
        return { index, value }
      })
    )
  }
  const schema = schemaOf(spec.target)
  return spec.guard === "none" ? Process.match(schema, handler) : Process.matchIf(schema, guardFn(spec.guard), handler)
}

/** a message as text: class and field, or primitive type and value (`-0` kept apart from `0`) */
const show = (m: unknown): string =>
  typeof m === "object" && m !== null
    ? `${m.constructor.name}(${numeric(m)})`
    : `${typeof m}:${Object.is(m, -0) ? "-0" : String(m)}`

/**
 * Where the messages come from. `local`: the receiving process sends them to itself (values pass unchanged,
 * so a taken message must be the very value sent). `remote`: a process on another node sends each one
 * (encoded on the wire), so a taken message must be an equal value of the same class.
 */
interface Via {
  readonly deliver: (to: ProcessId.ProcessId, m: Msg) => Effect.Effect<void, never, Process.Process>
  readonly same: (actual: unknown, expected: Msg) => boolean
}
const localVia: Via = {
  deliver: (to, m) => Process.send(to, m as Message.Sendable),
  same: (actual, expected) => Object.is(actual, expected)
}
const remoteVia = (sender: Node.NodeService): Via => ({
  deliver: (to, m) =>
    Node.runProcess(Process.send(to, m as Message.Sendable)).pipe(
      Effect.provideService(Node.Node, sender),
      Effect.orDie
    ),
  same: (actual, expected) => show(actual) === show(expected)
})

const runSelective = (plan: SelectivePlan, via: Via) =>
  Effect.gen(function* () {
    const self = yield* Process.self
    const model: Array<Msg> = []
    const queueLength = Effect.map(Process.getProcessInfo(self), (i) => Option.getOrThrow(i).messageQueueLength)
    // send, and wait (bounded) until it is in the mailbox: at once for a local send
    const send = (m: Msg) =>
      Effect.gen(function* () {
        model.push(m)
        yield* via.deliver(self, m)
        for (let i = 0; i < 100 && (yield* queueLength) < model.length; i++) yield* tick
        assert.strictEqual(yield* queueLength, model.length, `mailbox length after sending ${show(m)}`)
      })
    // send from another fiber, a little later: the receive this is for is already waiting
    const lateSend = (m: Msg) => Effect.forkChild(repeat(3, Effect.yieldNow).pipe(Effect.andThen(via.deliver(self, m))))

    for (const spec of plan.initial) yield* send(build(spec))

    for (let step = 0; step < plan.ops.length; step++) {
      const op = plan.ops[step]!
      const where = `op ${step} ${JSON.stringify(op)}`
      if (op._tag === "Send") {
        yield* send(build(op.msg))
        continue
      }
      const matchers: ReadonlyArray<MatcherSpec> =
        op._tag === "Expect" ? [{ target: op.target, guard: "none" }] : op.matchers
      const matches = matchers.map(toMatch)
      const schema = op._tag === "Expect" ? schemaOf(op.target) : undefined
      // one receive, in the requested form; `wait` = how long (undefined: block)
      const receive = (
        wait: 0 | "1 second" | undefined
      ): Effect.Effect<Option.Option<Taken>, never, Process.Process> => {
        if (schema !== undefined) {
          const asTaken = (value: unknown): Taken => ({ index: 0, value })
          return wait === undefined
            ? Effect.map(Process.expect(schema), (v) => Option.some(asTaken(v)))
            : Effect.map(Process.expectTimeout(schema, wait), Option.map(asTaken))
        }
        return wait === undefined
          ? Effect.map(Process.receiveWait(...matches), Option.some)
          : Process.receiveTimeout(wait, ...matches)
      }

      let expected = modelFind(model, matchers)
      let actual: Option.Option<Taken>
      if (expected !== undefined) {
        actual = yield* receive(op.mode === "poll" ? 0 : op.mode === "timeout" ? "1 second" : undefined)
      } else if (op.mode === "timeout") {
        actual = yield* withClockDriver(receive("1 second"))
      } else if (op.mode === "late") {
        const late = lateFor(matchers, op.late)
        model.push(late)
        expected = modelFind(model, matchers)
        yield* lateSend(late)
        actual = yield* receive(undefined)
      } else {
        actual = yield* receive(0)
      }

      if (expected === undefined) {
        assert.isTrue(Option.isNone(actual), `${where}: the model accepts nothing, but got ${String(actual)}`)
      } else {
        assert.isTrue(Option.isSome(actual), `${where}: the model takes message ${expected.i}, got none`)
        const taken = Option.getOrThrow(actual)
        assert.isTrue(
          via.same(taken.value, model[expected.i]!),
          `${where}: took ${show(taken.value)}, the model takes ${show(model[expected.i])}`
        )
        assert.strictEqual(taken.index, expected.j, `${where}: matcher that handled it`)
        model.splice(expected.i, 1)
      }
      assert.strictEqual(yield* queueLength, model.length, `${where}: mailbox length`)
    }

    // what is left, in order
    assert.strictEqual(yield* queueLength, model.length, "mailbox length at the end")
    const rest: Array<unknown> = []
    while (true) {
      const next = yield* Process.receiveTimeout(
        0,
        Process.matchAny((m) => Effect.succeed(Option.getOrThrow(Process.unwrapMessage(m, AnyMsg))))
      )
      if (Option.isNone(next)) break
      rest.push(next.value)
    }
    assert.strictEqual(rest.length, model.length, "messages left")
    for (let i = 0; i < rest.length; i++) {
      assert.isTrue(via.same(rest[i], model[i]!), `message ${i} left: ${show(rest[i])}, model ${show(model[i])}`)
    }
  })

describe("properties: selective receive", () => {
  it.effect.prop(
    "expect / receiveWait / receiveTimeout / matchIf / matchAny agree with the list model",
    { plan: LocalSelectivePlan },
    ({ plan }) =>
      Effect.gen(function* () {
        const node = yield* Node.make()
        yield* Node.runProcess(runSelective(plan, localVia)).pipe(Effect.provideService(Node.Node, node))
      }),
    config(200, 60)
  )

  it.effect.prop(
    "the same with every message sent from another node (encoded, decoded by the matching schema)",
    { plan: RemoteSelectivePlan },
    ({ plan }) =>
      Effect.gen(function* () {
        const a = yield* Node.make({ name: "a" })
        const b = yield* Node.make({ name: "b" })
        yield* Node.runProcess(runSelective(plan, remoteVia(a))).pipe(Effect.provideService(Node.Node, b))
      }).pipe(Effect.provide(Transport.layerMemory)),
    config(100, 60)
  )
})

// -----------------------------------------------------------------------------------------------
// 3: merged channel ports against a queue model

const PortKind = Schema.Literals(["chan", "biased", "rr"])
const ChildSpec = Schema.Struct({ kind: PortKind, chans: arrayBetween(intBetween(0, 3), 1, 3) })
type ChildSpec = typeof ChildSpec.Type
const MergedSpec = Schema.Struct({
  kind: Schema.Literals(["biased", "rr"]),
  children: arrayBetween(ChildSpec, 1, 4)
})
type MergedSpec = typeof MergedSpec.Type

const ChanOp = Schema.Union([
  Schema.TaggedStruct("Send", { chan: intBetween(0, 3) }),
  Schema.TaggedStruct("Receive", {
    /** index into [...merged ports, ...plain channels], modulo their count */
    port: intBetween(0, 9),
    mode: Mode,
    late: intBetween(0, 3)
  })
])

const ChannelPlan = Schema.Struct({
  channels: intBetween(1, 4),
  merged: arrayBetween(MergedSpec, 1, 3),
  ops: arrayBetween(ChanOp, 0, 80)
})

/** a port in the model: reading takes from the channel queues */
type PortModel =
  | { readonly kind: "chan"; readonly chan: number }
  | { readonly kind: "biased"; readonly children: ReadonlyArray<PortModel> }
  | { readonly kind: "rr"; readonly children: ReadonlyArray<PortModel>; start: number }

const modelPoll = (port: PortModel, queues: ReadonlyArray<Array<number>>): number | undefined => {
  switch (port.kind) {
    case "chan":
      return queues[port.chan]!.shift()
    case "biased": {
      for (const child of port.children) {
        const v = modelPoll(child, queues)
        if (v !== undefined) return v
      }
      return undefined
    }
    case "rr": {
      const n = port.children.length
      for (let k = 0; k < n; k++) {
        const j = (port.start + k) % n
        const v = modelPoll(port.children[j]!, queues)
        if (v !== undefined) {
          port.start = (j + 1) % n
          return v
        }
      }
      return undefined
    }
  }
}

/** whether a value is waiting for the port (polling a copy, so the model's round-robin state is kept) */
const modelReady = (port: PortModel, queues: ReadonlyArray<Array<number>>): boolean => {
  const leaves = (p: PortModel): Array<number> => (p.kind === "chan" ? [p.chan] : p.children.flatMap(leaves))
  return leaves(port).some((c) => queues[c]!.length > 0)
}

const firstLeaf = (port: PortModel): number => (port.kind === "chan" ? port.chan : firstLeaf(port.children[0]!))

const runChannels = (plan: typeof ChannelPlan.Type) =>
  Effect.gen(function* () {
    const chans: Array<readonly [Channel.SendPort<number>, Channel.ReceivePort<number>]> = []
    for (let c = 0; c < plan.channels; c++) chans.push(yield* Channel.newChan(Schema.Number))
    const queues: Array<Array<number>> = chans.map(() => [])

    const buildPort = (
      kind: "biased" | "rr",
      children: ReadonlyArray<readonly [PortModel, Channel.ReceivePort<number>]>
    ): Effect.Effect<readonly [PortModel, Channel.ReceivePort<number>]> =>
      Effect.map(
        kind === "biased"
          ? Channel.mergePortsBiased(children.map(([, p]) => p))
          : Channel.mergePortsRR(children.map(([, p]) => p)),
        (port): readonly [PortModel, Channel.ReceivePort<number>] => [
          kind === "biased"
            ? { kind: "biased", children: children.map(([m]) => m) }
            : { kind: "rr", children: children.map(([m]) => m), start: 0 },
          port
        ]
      )
    const leaf = (c: number): readonly [PortModel, Channel.ReceivePort<number>] => {
      const chan = c % plan.channels
      return [{ kind: "chan", chan }, chans[chan]![1]]
    }
    const buildChild = (spec: ChildSpec) =>
      spec.kind === "chan" ? Effect.succeed(leaf(spec.chans[0]!)) : buildPort(spec.kind, spec.chans.map(leaf))
    const buildMerged = (spec: MergedSpec) =>
      Effect.flatMap(Effect.forEach(spec.children, buildChild), (children) => buildPort(spec.kind, children))

    const ports = [...(yield* Effect.forEach(plan.merged, buildMerged)), ...chans.map((_, c) => leaf(c))]

    let next = 0
    const send = (c: number) =>
      Effect.suspend(() => {
        const chan = c % plan.channels
        const value = next++
        queues[chan]!.push(value)
        return Channel.sendChan(chans[chan]![0], value)
      })

    for (let step = 0; step < plan.ops.length; step++) {
      const op = plan.ops[step]!
      const where = `op ${step} ${JSON.stringify(op)}`
      if (op._tag === "Send") {
        yield* send(op.chan)
        continue
      }
      const [model, port] = ports[op.port % ports.length]!
      let actual: Option.Option<number>
      if (modelReady(model, queues)) {
        actual =
          op.mode === "poll"
            ? yield* Channel.receiveChanTimeout(0, port)
            : op.mode === "timeout"
              ? yield* Channel.receiveChanTimeout("1 second", port)
              : Option.some(yield* Channel.receiveChan(port))
      } else if (op.mode === "timeout") {
        actual = yield* withClockDriver(Channel.receiveChanTimeout("1 second", port))
      } else if (op.mode === "late") {
        // another fiber sends to one of the port's channels while the receive waits
        const chan = firstLeaf(model)
        const value = next++
        queues[chan]!.push(value)
        yield* Effect.forkChild(
          repeat(3, Effect.yieldNow).pipe(Effect.andThen(Channel.sendChan(chans[chan]![0], value)))
        )
        actual = Option.some(yield* Channel.receiveChan(port))
      } else {
        actual = yield* Channel.receiveChanTimeout(0, port)
      }
      const expected = modelPoll(model, queues)
      assert.strictEqual(Option.getOrUndefined(actual), expected, where)
    }

    // whatever is left is still in the channels, in order
    for (let c = 0; c < chans.length; c++) {
      const rest: Array<number> = []
      while (true) {
        const v = yield* Channel.receiveChanTimeout(0, chans[c]![1])
        if (Option.isNone(v)) break
        rest.push(v.value)
      }
      assert.deepStrictEqual(rest, queues[c], `channel ${c} left`)
    }
  })

describe("properties: channels", () => {
  it.effect.prop(
    "mergePortsBiased takes from the first ready port; mergePortsRR rotates (nested merges too)",
    { plan: ChannelPlan },
    ({ plan }) =>
      Effect.gen(function* () {
        const node = yield* Node.make()
        yield* Node.runProcess(runChannels(plan)).pipe(Effect.provideService(Node.Node, node))
      }),
    config(200, 60)
  )
})
