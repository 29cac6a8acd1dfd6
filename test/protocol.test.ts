/**
 * The compact `Send` frame layout: what `encodeSend` writes, `decodeFrame` reads back exactly, for
 * any pids (any address, incarnation and id the layout can carry), key and payload; the reader's
 * byte-keyed caches never hand back a pid or key of other bytes (thousands of distinct ones force
 * collisions); and a frame cut anywhere before its payload is refused, never misread.
 */
import { assert, describe, it } from "@effect/vitest"
import { Equal, Schema } from "effect"
import { NodeId, ProcessId, Protocol } from "../src/index.ts"

const Address = Schema.String.check(Schema.isMaxLength(40))
const Pid = Schema.Struct({
  address: Address,
  incarnation: Schema.Int.check(Schema.isBetween({ minimum: -(2 ** 40), maximum: 2 ** 40 })),
  id: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffffffff }))
})
type Pid = typeof Pid.Type

// strings travel as UTF-8: a lone surrogate cannot, and real addresses and tags have none
const pidOf = (p: Pid) =>
  new ProcessId.ProcessId({ node: NodeId.make(p.address.toWellFormed()), incarnation: p.incarnation, id: p.id })

interface Decoded {
  readonly _tag: string
  readonly to: ProcessId.ProcessId
  readonly from: ProcessId.ProcessId | null
  readonly key: string
  readonly payload: Uint8Array
}

const roundTrip = (
  to: ProcessId.ProcessId,
  from: ProcessId.ProcessId | null,
  key: string,
  payload: Uint8Array
): Decoded => Protocol.decodeFrame(Protocol.encodeSend(to, from, key, payload)) as unknown as Decoded

const samePid = (a: ProcessId.ProcessId | null, b: ProcessId.ProcessId | null) => {
  if (a === null || b === null) return a === b
  return a.node.address === b.node.address && a.incarnation === b.incarnation && a.id === b.id && Equal.equals(a, b)
}

describe("Protocol: the compact Send layout", () => {
  it.prop(
    "decodeFrame(encodeSend(to, from, key, payload)) gives back every field",
    {
      to: Pid,
      from: Schema.NullOr(Pid),
      key: Schema.String.check(Schema.isMaxLength(60)),
      payload: Schema.Uint8Array
    },
    ({ to, from, key: anyKey, payload }) => {
      const key = anyKey.toWellFormed()
      const frame = roundTrip(pidOf(to), from === null ? null : pidOf(from), key, payload)
      assert.strictEqual(frame._tag, "Send")
      assert.isTrue(samePid(frame.to, pidOf(to)))
      assert.isTrue(samePid(frame.from, from === null ? null : pidOf(from)))
      assert.strictEqual(frame.key, key)
      assert.deepStrictEqual(Array.from(frame.payload), Array.from(payload))
    }
  )

  it("the read caches never confuse two pids or two keys (10,000 distinct ones, read twice, interleaved)", () => {
    const cases = Array.from({ length: 10_000 }, (_, i) => ({
      to: new ProcessId.ProcessId({ node: NodeId.make(`n${i % 97}:${i % 13}é`), incarnation: i % 7, id: i }),
      from: new ProcessId.ProcessId({ node: NodeId.make(`m${i % 89}`), incarnation: 1, id: 10_000 - i }),
      key: `Key${i % 1_500}${i % 2 === 0 ? "ü" : ""}`
    }))
    for (const round of [0, 1]) {
      for (let k = 0; k < cases.length; k++) {
        const i = round === 0 ? k : cases.length - 1 - k
        const c = cases[i]!
        const frame = roundTrip(c.to, c.from, c.key, new Uint8Array([i & 0xff]))
        assert.isTrue(samePid(frame.to, c.to), `to of case ${i}`)
        assert.isTrue(samePid(frame.from, c.from), `from of case ${i}`)
        assert.strictEqual(frame.key, c.key, `key of case ${i}`)
      }
    }
  })

  it("a frame cut anywhere before its payload is refused", () => {
    const to = new ProcessId.ProcessId({ node: NodeId.make("127.0.0.1:4000"), incarnation: 3, id: 7 })
    const from = new ProcessId.ProcessId({ node: NodeId.make("thread:2"), incarnation: 1, id: 99 })
    const payload = new Uint8Array([1, 2, 3])
    const bytes = Protocol.encodeSend(to, from, "Ping", payload)
    const header = bytes.length - payload.length
    for (let cut = 1; cut < header; cut++) {
      assert.throws(() => Protocol.decodeFrame(bytes.subarray(0, cut)), RangeError, undefined, `cut at ${cut}`)
    }
    // cut at the payload's start: an empty payload, which the receiver's schema then refuses
    assert.strictEqual((Protocol.decodeFrame(bytes.subarray(0, header)) as unknown as Decoded).payload.length, 0)
  })
})
