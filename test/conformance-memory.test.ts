import { Effect, Layer } from "effect"
import { Node, NodeId, Transport } from "../src/index.ts"
import { conformance } from "./conformance.ts"
import { remoteTable } from "./fixtures/conformance-table.ts"

conformance(
  "in-memory",
  Effect.gen(function* () {
    const a = yield* Node.make({ name: "a" })
    const b = yield* Node.make({ name: "b" })
    const net = yield* Transport.MemoryNetwork
    return {
      a,
      b: b.nodeId,
      nowhere: NodeId.make("mem:nowhere"),
      disconnect: Effect.sync(() => net.disconnect(a.nodeId.address, b.nodeId.address))
    }
  }).pipe(Effect.provide(Layer.merge(Transport.layerMemory, remoteTable))),
  { disconnects: true }
)
