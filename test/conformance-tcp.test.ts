import { Effect } from "effect"
import { Node, NodeId, Transport } from "../src/index.ts"
import { conformance } from "./conformance.ts"
import { remoteTable } from "./fixtures/conformance-table.ts"

// two nodes in this process, each on its own TCP endpoint on 127.0.0.1
const tcp = Transport.layerTcp({ host: "127.0.0.1", port: 0, cookie: "conformance" })

conformance(
  "tcp",
  Effect.gen(function* () {
    const a = yield* Node.make().pipe(Effect.provide(tcp))
    const b = yield* Node.make().pipe(Effect.provide(tcp))
    // port 1 (tcpmux): a privileged port where nothing listens on a test machine
    return { a, b: b.nodeId, nowhere: NodeId.make("tcp://127.0.0.1:1") }
  }).pipe(Effect.provide(remoteTable)),
  { live: true }
)
