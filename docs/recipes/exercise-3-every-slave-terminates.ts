/**
 * Recipe: exercise 3, guarantee that every slave terminates
 * (docs/recipes/exercise-3-every-slave-terminates.md). Three nodes on the in-memory transport and
 * the blog's work-stealing program: a master that gives up leaves its slaves working for nobody;
 * with its slaves as scoped resources (killed, and their deaths awaited, when the master's scope
 * closes) and linked to the master, none is left however the master ends. Then the same
 * guarantee from `WorkStealing.run`: after a success, a `TaskFailed`, a timeout, a kill.
 *
 * Run: npx -c 'node docs/recipes/exercise-3-every-slave-terminates.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import {
  Node,
  type NodeId,
  Notification,
  PrimeFactors,
  Process,
  ProcessId,
  Remote,
  Task,
  Transport,
  WorkStealing
} from "cloud-effect"
import { Cause, Console, Effect, Exit, Layer, Option, Schema, type Scope } from "effect"

/** One number's work: a millisecond, so that there is time to stop the job in the middle. */
const work = (n: number) => Effect.as(Effect.sleep("1 millis"), PrimeFactors.numPrimeFactors(n))

class NoMoreWork extends Schema.TaggedClass<NoMoreWork>()("recipes/exercise-3/NoMoreWork", {}) {}

const SlaveEnv = Schema.Struct({ master: ProcessId.ProcessId, workQueue: ProcessId.ProcessId })

/** The blog's work-stealing slave: ask, work, answer, until there is no more work. */
const stealLoop = ({ master, workQueue }: typeof SlaveEnv.Type) =>
  Effect.gen(function* () {
    const us = yield* Process.self
    let more = true
    while (more) {
      yield* Process.send(workQueue, us)
      more = yield* Process.receiveWait(
        Process.match(Schema.Int, (n) =>
          Effect.as(
            Effect.flatMap(work(n), (f) => Process.send(master, f)),
            true
          )
        ),
        Process.match(NoMoreWork, () => Effect.succeed(false))
      )
    }
  })

const blogSlave = Remote.define("recipes/exercise-3/blogSlave", SlaveEnv, stealLoop)

/** The slave of the answer also links to its master: if the master's node dies, so do its slaves. */
const slave = Remote.define("recipes/exercise-3/slave", SlaveEnv, (env) =>
  Effect.andThen(Process.link(env.master), stealLoop(env))
)

/** The work queue: the next number for each request, then `NoMoreWork` for every request. */
const workQueue = (n: number) =>
  Effect.gen(function* () {
    for (let m = 1; m <= n; m++) yield* Process.send(yield* Process.expect(ProcessId.ProcessId), m)
    return yield* Effect.forever(
      Effect.flatMap(Process.expect(ProcessId.ProcessId), (them) => Process.send(them, new NoMoreWork()))
    )
  })

const sumOf = (n: number) =>
  Effect.gen(function* () {
    let sum = 0
    for (let i = 0; i < n; i++) sum += yield* Process.expect(Schema.Int)
    return sum
  })

/** The blog's master. */
const blogMaster = (n: number, nodes: ReadonlyArray<NodeId.NodeId>) =>
  Effect.gen(function* () {
    const us = yield* Process.self
    const queue = yield* Process.spawnLocal(workQueue(n))
    yield* Effect.forEach(nodes, (node) => Remote.spawn(node, blogSlave({ master: us, workQueue: queue })))
    return yield* sumOf(n)
  })

// -------------------------------------------------------------------------------------------------
// The answer: every process the master starts is a resource of the master's scope.

/** A remote process that is killed, and whose death is awaited, when the scope closes. */
const scopedSpawn = (
  node: NodeId.NodeId,
  closure: Remote.Closure
): Effect.Effect<ProcessId.ProcessId, Remote.SpawnError, Process.Process | Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Remote.spawnMonitor(node, closure), ([pid, ref]) =>
      Effect.andThen(
        Process.kill(pid, "the master is done"),
        // exactly one notification per monitor: when the slave is gone or its node is unreachable
        Process.receiveWait(
          Process.matchIf(
            Notification.ProcessMonitorNotification,
            (m) => m.ref.id === ref.id,
            () => Effect.void
          )
        )
      )
    ),
    ([pid]) => pid
  )

const master = (n: number, nodes: ReadonlyArray<NodeId.NodeId>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const us = yield* Process.self
      const queue = yield* Effect.acquireRelease(Process.spawnLocal(workQueue(n)), (pid) =>
        Process.kill(pid, "the master is done")
      )
      yield* Effect.forEach(nodes, (node) => scopedSpawn(node, slave({ master: us, workQueue: queue })))
      return yield* sumOf(n)
    })
  )

// -------------------------------------------------------------------------------------------------

class Boom extends Schema.TaggedError<Boom>()("Boom", { n: Schema.Int }) {}
const failing = Task.define("recipes/exercise-3/failing", Schema.Int, Schema.Int, (n) =>
  n === 300 ? Effect.fail(new Boom({ n })) : work(n)
)
const slow = Task.define("recipes/exercise-3/slow", Schema.Int, Schema.Int, work)

Effect.gen(function* () {
  const masterNode = yield* Node.make({ name: "master" })
  const slaveNodes = [yield* Node.make({ name: "slave1" }), yield* Node.make({ name: "slave2" })]
  const nodes = slaveNodes.map((node) => node.nodeId)
  const n = 400

  /** the processes alive on the slave nodes */
  const slavesLeft = Effect.map(
    Effect.forEach(slaveNodes, (node) => Node.processes.pipe(Effect.provideService(Node.Node, node))),
    (lists) => lists.flat().length
  )
  const report = (label: string, how: string) =>
    Effect.flatMap(slavesLeft, (left) =>
      Console.log(`${label.padEnd(34)} ${how.padEnd(22)} slave processes left: ${left}`)
    )

  /** run `job` in a master process of its own (a fresh mailbox); how it ended */
  const ending = (label: string, job: Effect.Effect<number, unknown, Process.Process>) =>
    Effect.gen(function* () {
      const me = yield* Process.self
      yield* Process.spawnLocal(
        Effect.flatMap(Effect.exit(job), (exit) =>
          Process.send(
            me,
            Exit.match(exit, {
              onSuccess: (sum) => `returned ${sum}`,
              onFailure: (cause) =>
                Option.match(Cause.findErrorOption(cause), {
                  onNone: () => "was interrupted",
                  onSome: (error) => `failed with ${(error as { readonly _tag?: string })._tag}`
                })
            })
          )
        )
      )
      yield* report(label, yield* Process.expect(Schema.String))
    })

  /** run `job` in a master process of its own, and kill that process after `ms` milliseconds */
  const killedAfter = (label: string, ms: number, job: Effect.Effect<number, unknown, Process.Process>) =>
    Effect.gen(function* () {
      const [pid, ref] = yield* Process.spawnMonitor(job)
      yield* Effect.sleep(`${ms} millis`)
      yield* Process.kill(pid, "killed")
      // its finalizers have run once it is dead
      yield* Process.receiveWait(
        Process.matchIf(
          Notification.ProcessMonitorNotification,
          (m) => m.ref.id === ref.id,
          () => Effect.void
        )
      )
      yield* report(label, "was killed")
    })

  yield* Node.runProcess(
    Effect.gen(function* () {
      yield* Console.log(`sum of numPrimeFactors over 1..${n}, 2 slaves, 1 ms per number`)
      yield* ending("the blog's master, timed out", Effect.timeout(blogMaster(n, nodes), "50 millis"))
      // its slaves go on with the whole job, for nobody, until the work queue runs dry
      const start = Date.now()
      while ((yield* slavesLeft) > 0) yield* Effect.sleep("5 millis")
      yield* Console.log(`  (and they worked on for another ${Date.now() - start} ms)`)

      yield* ending("scoped slaves", master(n, nodes))
      yield* ending("scoped slaves, timed out", Effect.timeout(master(n, nodes), "50 millis"))
      yield* killedAfter("scoped slaves", 50, master(n, nodes))

      const steal = (task: Task.Task<number, number>) =>
        WorkStealing.run({ task, inputs: PrimeFactors.range(1, n), nodes, reduce: PrimeFactors.sum, retries: 1 })
      yield* ending("WorkStealing.run", steal(slow))
      yield* ending("WorkStealing.run, a task fails", steal(failing))
      yield* ending("WorkStealing.run, timed out", Effect.timeout(steal(slow), "50 millis"))
      yield* killedAfter("WorkStealing.run", 50, steal(slow))
    })
  ).pipe(Effect.provideService(Node.Node, masterNode))
}).pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(Transport.layerMemory, Remote.table(blogSlave, slave, slow, failing))),
  NodeRuntime.runMain
)
