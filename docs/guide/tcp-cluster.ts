/**
 * Nodes on TCP (docs/guide.md, "Running on many machines"): what `cloud-effect slave` and
 * `cloud-effect master` do, in code. On a real cluster each slave runs on its own machine; this
 * program starts a master and two slaves in one process on 127.0.0.1 to show the wiring: the
 * slaves register with the master (`master` option), the master waits for them
 * (`Backend.awaitSlaves`) and runs a job on them.
 *
 * Run: npx -c 'node docs/guide/tcp-cluster.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Backend, Node, PrimeFactors, WorkStealing } from "cloud-effect"
import { Console, Context, Effect, Layer, Redacted } from "effect"
import { factors, remoteTable } from "./tasks.ts"

/** The cluster's shared secret: here a constant; in production `Backend.cookie({ file })` or `CLOUD_EFFECT_COOKIE`. */
const cookie = Redacted.make("guide-cookie")

/** What every slave machine runs: a node that serves spawns until stopped, announcing itself to the master. */
const slave = (master: string) =>
  Backend.tcpSlave({
    host: "127.0.0.1",
    port: 0, // a fixed port in production, e.g. 4000
    cookie,
    table: remoteTable,
    master
  })

/** What the master machine runs: a node, and the slaves it was given (none here: they register). */
const masterLayer = Backend.tcpMaster({ host: "127.0.0.1", port: 0, cookie, table: remoteTable, slaves: [] })

const program = Effect.gen(function* () {
  const masterAddress = (yield* Node.Node).nodeId.address
  yield* Console.log(`master listening on ${masterAddress}`)
  for (let i = 0; i < 2; i++) {
    const context = yield* Layer.build(slave(masterAddress))
    yield* Console.log(`slave listening on ${Context.get(context, Node.Node).nodeId.address}`)
  }
  // slaves say hello when they start (and every 2 seconds): wait until both have
  const slaves = yield* Backend.awaitSlaves(2, { timeout: "30 seconds" })
  yield* Console.log(`registered: ${slaves.map((s) => s.address).join(", ")}`)
  const sum = yield* Backend.startMaster((nodes) =>
    WorkStealing.run({
      task: factors,
      inputs: PrimeFactors.range(1, 10_000),
      nodes,
      reduce: PrimeFactors.sum
    })
  )
  yield* Console.log(`sum of numPrimeFactors over 1..10,000 on the TCP slaves: ${sum}`)
})

program.pipe(Effect.scoped, Effect.provide(masterLayer), NodeRuntime.runMain)
