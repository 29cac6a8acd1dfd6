/**
 * The in-memory transport: many nodes in one process, frames delivered in order on the microtask
 * queue, and a `MemoryNetwork` service to break connections and partition nodes in tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Transport } from "cloud-effect"
 * const cut = Effect.gen(function*() {
 *   const net = yield* Transport.MemoryNetwork
 *   net.disconnect("mem:a", "mem:b") // both nodes see the connection lost
 * }).pipe(Effect.provide(Transport.layerMemory))
 * ```
 * @since 0.1.0
 */
import { Context, type Duration, Effect, Layer } from "effect"
import { describeDuration, millisOf } from "../internal/timeout.ts"
import { type EndPoint, Transport, TransportError, type TransportEvent } from "../Transport.ts"

/**
 * One bound endpoint. Frames in flight are addressed to this object, not to its address: once it
 * is released the address is free at once, and frames for the old endpoint never reach a new one.
 */
interface Bound {
  readonly address: string
  readonly handler: (event: TransportEvent) => void
  open: boolean
}

interface Connection {
  /** the pair of addresses (`pairKey`) */
  readonly key: string
  /** bumped whenever the connection is lost: frames of an older epoch are dropped */
  epoch: number
  connected: boolean
  /** a frame on it was dropped because its endpoint was released before it arrived */
  dropped: boolean
}

/**
 * Control over an in-memory network, for fault injection in tests.
 * @since 0.1.0
 */
export class MemoryNetwork extends Context.Service<
  MemoryNetwork,
  {
    /** addresses of the bound endpoints */
    readonly addresses: () => ReadonlyArray<string>
    /** lose the connection between two endpoints: in-flight frames are dropped, both see it lost */
    readonly disconnect: (a: string, b: string) => void
    /** disconnect and keep the two endpoints apart until `heal` */
    readonly partition: (a: string, b: string) => void
    /** end a partition */
    readonly heal: (a: string, b: string) => void
    /** frames delivered so far */
    readonly delivered: () => number
  }
>()("cloud-effect/transport/Memory/MemoryNetwork") {}

const pairKey = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`)

const makeNetwork = (latencyMillis: number) => {
  // with a latency, frames are delivered by timers (one per frame, the same delay for all, so
  // per-pair order holds); they are cleared when the network's layer closes
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const later = (f: () => void) => {
    if (latencyMillis <= 0) return queueMicrotask(f)
    const timer = setTimeout(() => {
      timers.delete(timer)
      f()
    }, latencyMillis)
    timers.add(timer)
  }
  const endpoints = new Map<string, Bound>()
  const connections = new Map<string, Connection>()
  /**
   * connections of a released endpoint whose frames are still in flight: the peer is told it lost
   * the connection once they are delivered (unless a `disconnect` drops them first)
   */
  const draining = new Set<Connection>()
  const partitions = new Set<string>()
  let delivered = 0
  let unnamed = 0

  const connection = (a: string, b: string): Connection => {
    const key = pairKey(a, b)
    let c = connections.get(key)
    if (c === undefined) {
      c = { key, epoch: 0, connected: false, dropped: false }
      connections.set(key, c)
    }
    return c
  }

  const connectionLost = (self: Bound | undefined, peer: string) => {
    if (self?.open) self.handler({ _tag: "ConnectionLost", peer })
  }

  const lose = (a: string, b: string) => {
    const key = pairKey(a, b)
    const c = connections.get(key)
    let lost = false
    if (c?.connected) {
      c.connected = false
      c.epoch++
      lost = true
    }
    // a connection of a released endpoint still delivering its last frames: they are dropped too
    for (const d of draining) {
      if (d.key !== key) continue
      draining.delete(d)
      d.epoch++
      lost = true
    }
    if (!lost) return
    const ea = endpoints.get(a)
    const eb = endpoints.get(b)
    queueMicrotask(() => {
      connectionLost(ea, b)
      connectionLost(eb, a)
    })
  }

  const reachable = (from: string, to: string) => endpoints.get(to)?.open === true && !partitions.has(pairKey(from, to))

  const send = (self: Bound, to: string, bytes: Uint8Array) => {
    // a released endpoint sends nothing (and has nobody to tell)
    if (!self.open) return
    const target = endpoints.get(to)
    if (target === undefined || !reachable(self.address, to)) {
      queueMicrotask(() => connectionLost(self, to))
      return
    }
    const c = connection(self.address, to)
    if (!c.connected) {
      c.connected = true
      c.epoch++
    }
    const epoch = c.epoch
    later(() => {
      if (c.epoch !== epoch) return
      if (!target.open) {
        c.dropped = true
        return
      }
      delivered++
      target.handler({ _tag: "Received", from: self.address, bytes })
    })
  }

  /**
   * Release an endpoint: its address is free at once and nothing more reaches it. Frames it sent
   * before are still delivered (they were queued first, and take the same latency), then each
   * connected peer sees the connection lost.
   */
  const release = (bound: Bound) => {
    bound.open = false
    if (endpoints.get(bound.address) === bound) endpoints.delete(bound.address)
    for (const [key, c] of connections) {
      const [a, b] = key.split("\u0000") as [string, string]
      if (a !== bound.address && b !== bound.address) continue
      connections.delete(key)
      if (!c.connected) continue
      c.connected = false
      const peerAddress = a === bound.address ? b : a
      const peer = endpoints.get(peerAddress)
      if (peer === undefined) continue
      draining.add(c)
      later(() => {
        if (!draining.delete(c)) return
        // a node bound at the address since, which the peer already talks to, is not the one lost,
        // when the old one heard everything the peer sent (its Goodbye then told the peer of it);
        // a frame it never got may be a request the peer still waits on: the loss is its answer
        if (connections.get(c.key)?.connected && !c.dropped) return
        connectionLost(peer, bound.address)
      })
    }
  }

  const bind = (name: string | undefined, handler: (event: TransportEvent) => void) =>
    Effect.acquireRelease(
      Effect.suspend(() => {
        const address = `mem:${name ?? `node-${++unnamed}`}`
        if (endpoints.get(address)?.open) {
          return Effect.fail(new TransportError({ address, reason: "address already bound" }))
        }
        const bound: Bound = { address, handler, open: true }
        endpoints.set(address, bound)
        const endpoint: EndPoint = {
          address,
          send: (to, bytes) => send(bound, to, bytes),
          connect: (to) =>
            Effect.suspend(() => {
              if (!bound.open) {
                return Effect.fail(new TransportError({ address, reason: "endpoint closed" }))
              }
              if (!reachable(address, to)) {
                return Effect.fail(new TransportError({ address: to, reason: "unreachable" }))
              }
              const c = connection(address, to)
              if (!c.connected) {
                c.connected = true
                c.epoch++
              }
              return Effect.void
            })
        }
        return Effect.succeed([endpoint, bound] as const)
      }),
      ([, bound]) => Effect.sync(() => release(bound))
    ).pipe(Effect.map(([endpoint]) => endpoint))

  const control = MemoryNetwork.of({
    addresses: () => [...endpoints.entries()].filter(([, e]) => e.open).map(([a]) => a),
    disconnect: lose,
    partition: (a, b) => {
      partitions.add(pairKey(a, b))
      lose(a, b)
    },
    heal: (a, b) => {
      partitions.delete(pairKey(a, b))
    },
    delivered: () => delivered
  })
  const close = () => {
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
  }
  return { transport: Transport.of({ bind: (options, handler) => bind(options.name, handler) }), control, close }
}

/**
 * A fresh in-memory network: provides `Transport` and its `MemoryNetwork` control.
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Transport | MemoryNetwork> = Layer.effectContext(
  Effect.sync(() => {
    const { transport, control } = makeNetwork(0)
    return Context.make(Transport, transport).pipe(Context.add(MemoryNetwork, control))
  })
)

/**
 * A fresh in-memory network whose frames each take `latency` to arrive (to see what hiding a
 * round trip is worth, e.g. work-stealing's prefetch). A disconnect still drops the frames in flight.
 * @since 0.1.0
 */
export const layerMemoryWith = (options: {
  readonly latency?: Duration.Input | undefined
}): Layer.Layer<Transport | MemoryNetwork> =>
  Layer.effectContext(
    Effect.acquireRelease(
      Effect.sync(() => {
        const latency = options.latency === undefined ? 0 : millisOf(options.latency)
        // timers of Node take at most 2^31 - 1 ms (a longer one fires at once)
        if (!(latency >= 0 && latency <= 2 ** 31 - 1)) {
          throw new RangeError(
            `layerMemoryWith: latency ${describeDuration(options.latency)} is not a duration from 0 to 24 days`
          )
        }
        return makeNetwork(latency)
      }),
      (network) => Effect.sync(network.close)
    ).pipe(
      Effect.map(({ transport, control }) =>
        Context.make(Transport, transport).pipe(Context.add(MemoryNetwork, control))
      )
    )
  )
