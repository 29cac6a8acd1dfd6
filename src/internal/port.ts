/**
 * Channel buffers and the ports that read them (single channels and merged ones).
 * @internal
 */
import { Effect } from "effect"

export const Empty: unique symbol = Symbol.for("cloud-effect/Port/Empty")
export type Empty = typeof Empty

/** Something a receive can take values from. */
export interface Port<A> {
  /** take the next value, or Empty */
  readonly poll: () => A | Empty
  /** whether a poll would give a value now */
  readonly ready: () => boolean
  /** call `wake` (once or more) when a value may have arrived; returns the unsubscribe */
  readonly subscribe: (wake: () => void) => () => void
}

/** The buffer of one channel, owned by a process. */
export class ChannelBuffer<A> implements Port<A> {
  private items: Array<A> = []
  private head = 0
  private readonly wakers = new Set<() => void>()

  readonly decode: (key: string, payload: Uint8Array) => A | Empty

  constructor(decode: (key: string, payload: Uint8Array) => A | Empty) {
    this.decode = decode
  }

  get size(): number {
    return this.items.length - this.head
  }

  push(value: A): void {
    this.items.push(value)
    if (this.wakers.size > 0) {
      // a snapshot: a woken receiver may subscribe again before this loop ends
      for (const wake of Array.from(this.wakers)) wake()
    }
  }

  readonly ready = (): boolean => this.head < this.items.length

  readonly poll = (): A | Empty => {
    if (this.head >= this.items.length) return Empty
    const value = this.items[this.head]!
    this.items[this.head] = undefined as A
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return value
  }

  readonly subscribe = (wake: () => void): (() => void) => {
    this.wakers.add(wake)
    return () => this.wakers.delete(wake)
  }

  clear(): void {
    this.items = []
    this.head = 0
  }
}

/** a table's entry for a collected buffer: the table and the index to forget */
interface Collected {
  readonly table: ChannelTable
  readonly index: number
}

const collected = new FinalizationRegistry<Collected>(({ table, index }) => table.collected(index))

/**
 * The channels of one process, by index. A channel is held weakly: once its buffer is unreachable
 * (no ReceivePort, merged port or waiting receive uses it) it is freed and its entry removed, so a
 * process that makes a channel per request does not grow its table for ever. A value sent to a
 * freed channel is dropped, like a message to a dead process (Cloud Haskell holds its typed
 * channels by weak pointers too).
 */
export class ChannelTable {
  private readonly refs = new Map<number, WeakRef<ChannelBuffer<unknown>>>()

  /** channels in the table (freed ones leave it once the garbage collector has reported them) */
  get size(): number {
    return this.refs.size
  }

  set(index: number, buffer: ChannelBuffer<unknown>): void {
    this.refs.set(index, new WeakRef(buffer))
    collected.register(buffer, { table: this, index })
  }

  /** the live channel with this index */
  get(index: number): ChannelBuffer<unknown> | undefined {
    return this.refs.get(index)?.deref()
  }

  *values(): IterableIterator<ChannelBuffer<unknown>> {
    for (const ref of this.refs.values()) {
      const buffer = ref.deref()
      if (buffer !== undefined) yield buffer
    }
  }

  clear(): void {
    this.refs.clear()
  }

  /** the buffer of `index` was garbage-collected */
  collected(index: number): void {
    const ref = this.refs.get(index)
    if (ref !== undefined && ref.deref() === undefined) this.refs.delete(index)
  }
}

const subscribeAll =
  <A>(ports: ReadonlyArray<Port<A>>) =>
  (wake: () => void): (() => void) => {
    const offs = ports.map((p) => p.subscribe(wake))
    return () => {
      for (const off of offs) off()
    }
  }

/** Take from the first port, in list order, that has a value. */
export const mergeBiased = <A>(ports: ReadonlyArray<Port<A>>): Port<A> => ({
  poll: () => {
    for (const p of ports) {
      const v = p.poll()
      if (v !== Empty) return v
    }
    return Empty
  },
  ready: () => ports.some((p) => p.ready()),
  subscribe: subscribeAll(ports)
})

/** Take from the ports in turn: after a port gave a value, the next one is asked first. */
export const mergeRoundRobin = <A>(ports: ReadonlyArray<Port<A>>): Port<A> => {
  let start = 0
  return {
    poll: () => {
      for (let i = 0; i < ports.length; i++) {
        const j = (start + i) % ports.length
        const v = ports[j]!.poll()
        if (v !== Empty) {
          start = (j + 1) % ports.length
          return v
        }
      }
      return Empty
    },
    ready: () => ports.some((p) => p.ready()),
    subscribe: subscribeAll(ports)
  }
}

/** Wait for a value from a port. A wake-up only re-polls, so an interrupted wait loses nothing. */
export const take = <A>(port: Port<A>): Effect.Effect<A> =>
  Effect.suspend(() => {
    const v = port.poll()
    if (v !== Empty) return Effect.succeed(v)
    return Effect.flatMap(
      Effect.withFiber((fiber) =>
        Effect.callback<void>((resume) => {
          let done = false
          // woken through the scheduler, not on the sender's stack (see Mailbox.await)
          const dispatcher = fiber.currentDispatcher
          const off = port.subscribe(() => {
            if (done) return
            done = true
            off()
            dispatcher.scheduleTask(() => resume(Effect.void), 0)
          })
          // a value that arrived between the poll above and the subscription
          if (port.ready()) {
            done = true
            off()
            resume(Effect.void)
          }
          return Effect.sync(off)
        })
      ),
      () => take(port)
    )
  })
