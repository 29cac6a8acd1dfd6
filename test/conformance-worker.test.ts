import { Context, Effect, Layer } from "effect"
import { Backend, Node, NodeId } from "../src/index.ts"
import { conformance } from "./conformance.ts"

// the remote node is a worker thread running fixtures/conformance-table.ts (no disconnect hook: a
// worker thread that goes away is a crash, tested in worker.test.ts)
conformance(
  "worker threads",
  Effect.gen(function* () {
    const context = yield* Layer.build(
      Backend.workerThreads(1, { module: new URL("./fixtures/conformance-table.ts", import.meta.url) })
    )
    const backend = Context.get(context, Backend.Backend)
    // a thread of the hub that was never started
    return { a: Context.get(context, Node.Node), b: backend.slaves[0]!, nowhere: NodeId.make("thread:999") }
  }),
  { live: true }
)
