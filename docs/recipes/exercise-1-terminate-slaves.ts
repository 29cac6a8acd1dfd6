/**
 * Recipe: exercise 1, terminate the slaves when the master is done
 * (docs/recipes/exercise-1-terminate-slaves.md). Three nodes on the in-memory transport: the
 * blog's work-pushing slaves outlive their master; the same slaves with one `Process.link` die
 * with it; the `WorkPushing` pattern leaves no slave behind, whether its master returns or is killed.
 *
 * Run: npx -c 'node docs/recipes/exercise-1-terminate-slaves.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Node, type NodeId, PrimeFactors, Process, ProcessId, Remote, Task, Transport, WorkPushing } from "cloud-effect"
import { Console, Effect, Layer, Schema } from "effect"

/** The blog's work-pushing slave: it serves its master forever, even after the master is gone. */
const foreverSlave = (master: ProcessId.ProcessId) =>
  Effect.forever(
    Effect.gen(function* () {
      const n = yield* Process.expect(Schema.Int)
      yield* Process.send(master, PrimeFactors.numPrimeFactors(n))
    })
  )

const blogSlave = Remote.define("recipes/exercise-1/blogSlave", ProcessId.ProcessId, foreverSlave)

/** The answer: link to the master first. When the master ends, for any reason, so does the slave. */
const linkedSlave = Remote.define("recipes/exercise-1/linkedSlave", ProcessId.ProcessId, (master) =>
  Effect.andThen(Process.link(master), foreverSlave(master))
)

/** A long job's task: numPrimeFactors, one millisecond per number. */
const slowFactors = Task.define("recipes/exercise-1/slowFactors", Schema.Int, Schema.Int, (n) =>
  Effect.as(Effect.sleep("1 millis"), PrimeFactors.numPrimeFactors(n))
)

/** The blog's work-pushing master, parameterised by the slave closure it spawns. */
const pushMaster = (
  n: number,
  nodes: ReadonlyArray<NodeId.NodeId>,
  slave: (master: ProcessId.ProcessId) => Remote.Closure
) =>
  Effect.gen(function* () {
    const us = yield* Process.self
    const slaves = yield* Effect.forEach(nodes, (node) => Remote.spawn(node, slave(us)))
    for (let m = 1; m <= n; m++) yield* Process.send(slaves[(m - 1) % slaves.length]!, m)
    let sum = 0
    for (let i = 0; i < n; i++) sum += yield* Process.expect(Schema.Int)
    return sum
  })

Effect.gen(function* () {
  const master = yield* Node.make({ name: "master" })
  const slaveNodes = [yield* Node.make({ name: "slave1" }), yield* Node.make({ name: "slave2" })]
  const nodes = slaveNodes.map((node) => node.nodeId)

  /** the processes alive on the slave nodes, once the links and kills in flight have landed */
  const slaveProcesses = Effect.gen(function* () {
    yield* Effect.sleep("20 millis")
    const lists = yield* Effect.forEach(slaveNodes, (node) =>
      Node.processes.pipe(Effect.provideService(Node.Node, node))
    )
    return lists.flat()
  })
  const slavesLeft = Effect.map(slaveProcesses, (pids) => pids.length)

  /** run `job` as a master process of its own, which ends when the job returns */
  const asMasterProcess = <E>(job: Effect.Effect<number, E, Process.Process>) =>
    Effect.gen(function* () {
      const me = yield* Process.self
      yield* Process.spawnLocal(Effect.flatMap(job, (sum) => Process.send(me, sum)))
      return yield* Process.expect(Schema.Int)
    })

  yield* Node.runProcess(
    Effect.gen(function* () {
      const n = 1_000
      const blog = yield* asMasterProcess(pushMaster(n, nodes, blogSlave))
      yield* Console.log(
        `blog slaves:   sum ${blog}, slave processes alive after the master ended: ${yield* slavesLeft}`
      )
      // nobody will ever send them work again: find them and kill them by hand
      yield* Effect.forEach(yield* slaveProcesses, (pid) => Process.kill(pid, "orphaned"))

      const linked = yield* asMasterProcess(pushMaster(n, nodes, linkedSlave))
      yield* Console.log(
        `linked slaves: sum ${linked}, slave processes alive after the master ended: ${yield* slavesLeft}`
      )

      // the pattern modules do this for you: their slaves link to the master, and the pattern
      // kills them when it ends (exercise 3)
      const pattern = yield* WorkPushing.run({
        task: PrimeFactors.primes,
        inputs: PrimeFactors.range(1, n),
        nodes,
        reduce: PrimeFactors.sum
      })
      yield* Console.log(`WorkPushing:   sum ${pattern}, slave processes alive after it returned: ${yield* slavesLeft}`)

      // a master killed in the middle of a long job takes its slaves with it
      const doomed = yield* Process.spawnLocal(
        WorkPushing.run({
          task: slowFactors,
          inputs: PrimeFactors.range(1, 1e9),
          nodes,
          reduce: PrimeFactors.sum
        })
      )
      yield* Effect.sleep("50 millis")
      yield* Console.log(`a long WorkPushing job: slave processes alive while it runs: ${yield* slavesLeft}`)
      yield* Process.kill(doomed, "the user lost patience")
      yield* Console.log(
        `a long WorkPushing job: slave processes alive after its master was killed: ${yield* slavesLeft}`
      )
    })
  ).pipe(Effect.provideService(Node.Node, master))
}).pipe(
  Effect.scoped,
  // every node of the in-memory network knows the slaves and the PrimeFactors tasks
  Effect.provide(
    Layer.merge(Transport.layerMemory, Remote.table(blogSlave, linkedSlave, slowFactors, ...PrimeFactors.tasks))
  ),
  NodeRuntime.runMain
)
