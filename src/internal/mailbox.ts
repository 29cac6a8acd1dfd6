/**
 * The mailbox of one process: a FIFO of messages with selective receive.
 *
 * Every message sits in two doubly linked lists: the whole mailbox in arrival order, and the list
 * of messages with the same key (a message's `_tag`, or its primitive type). A receive whose
 * matchers name their keys (schemas of tagged classes, primitives, literals, unions of those) walks
 * only those keys' lists, merged by arrival order, so messages it cannot accept are never looked at:
 * receiving W wanted messages behind U unrelated ones costs O(U + W), not O(U × W). A receive with a
 * matcher that may accept any key walks the whole list in order.
 *
 * A blocked receive registers a waiter; each arriving message is tested against the waiters once,
 * so a blocked receive never rescans. The waiter is only told which message matched: the message is
 * removed by the receiving fiber itself, so an interrupted receive (a timeout) loses nothing.
 *
 * @internal
 */
import { Effect } from "effect"
import type { ProcessId } from "../ProcessId.ts"

/** One message in a mailbox. */
export interface Entry {
  readonly seq: number
  readonly key: string
  /** the value, for a message from the same node */
  readonly value: unknown
  /** the encoded value, for a message from another node */
  readonly payload: Uint8Array | undefined
  readonly sender: ProcessId | undefined
  prev: Entry | undefined
  next: Entry | undefined
  kprev: Entry | undefined
  knext: Entry | undefined
  removed: boolean
}

/** Returned by a matcher's test when it does not accept a message. */
export const NoMatch: unique symbol = Symbol.for("cloud-effect/NoMatch")
export type NoMatch = typeof NoMatch

/** What a receive needs from each of its matchers. */
export interface Matcher {
  /** the keys it can accept, or undefined for any */
  readonly keys: ReadonlySet<string> | undefined
  /** the key, when `keys` has exactly one (the common case: a tagged class) */
  readonly key?: string | undefined
  /** the decoded value if it accepts the message, else NoMatch; BadPayload if a definite-key decode failed */
  readonly test: (entry: Entry) => unknown
}

/** Returned by a test when the message has the matcher's key but its payload does not decode. */
export const BadPayload: unique symbol = Symbol.for("cloud-effect/BadPayload")

export interface Hit {
  readonly entry: Entry
  readonly index: number
  readonly value: unknown
}

const unionOfKeys = (matchers: ReadonlyArray<Matcher>): ReadonlySet<string> | undefined => {
  const union = new Set<string>()
  for (const m of matchers) {
    if (m.keys === undefined) return undefined
    for (const k of m.keys) union.add(k)
  }
  return union
}

interface KeyList {
  head: Entry | undefined
  tail: Entry | undefined
}

interface Waiter {
  readonly matchers: ReadonlyArray<Matcher>
  readonly resume: (hit: Hit) => void
  /** a matcher threw (a guard with a bug): the receiver dies of it, not the sender */
  readonly die: (error: unknown) => void
}

export class Mailbox {
  private head: Entry | undefined = undefined
  private tail: Entry | undefined = undefined
  private readonly byKey = new Map<string, KeyList>()
  private readonly waiters: Array<Waiter> = []
  private seq = 0
  size = 0
  /** called with a message that had a matcher's key but did not decode; it is dropped */
  onBadMessage: (entry: Entry) => void = () => {}
  /** late replies to requests the process gave up on: dropped on arrival (see requests.ts) */
  discard: ((key: string, value: unknown, payload: Uint8Array | undefined) => boolean) | undefined = undefined

  push(key: string, value: unknown, payload: Uint8Array | undefined, sender: ProcessId | undefined): void {
    if (this.discard?.(key, value, payload)) return
    const entry: Entry = {
      seq: this.seq++,
      key,
      value,
      payload,
      sender,
      prev: this.tail,
      next: undefined,
      kprev: undefined,
      knext: undefined,
      removed: false
    }
    if (this.tail === undefined) this.head = entry
    else this.tail.next = entry
    this.tail = entry
    let list = this.byKey.get(key)
    if (list === undefined) {
      list = { head: entry, tail: entry }
      this.byKey.set(key, list)
    } else {
      entry.kprev = list.tail
      list.tail!.knext = entry
      list.tail = entry
    }
    this.size++
    if (this.waiters.length > 0) this.offerToWaiters(entry)
  }

  private offerToWaiters(entry: Entry): void {
    for (let w = 0; w < this.waiters.length; w++) {
      const waiter = this.waiters[w]!
      let hit: Hit | undefined
      try {
        hit = this.test(entry, waiter.matchers)
      } catch (error) {
        this.waiters.splice(w, 1)
        waiter.die(error)
        return
      }
      if (hit === undefined) {
        if (entry.removed) return
        continue
      }
      this.waiters.splice(w, 1)
      waiter.resume(hit)
      return
    }
  }

  remove(entry: Entry): void {
    if (entry.removed) return
    entry.removed = true
    if (entry.prev === undefined) this.head = entry.next
    else entry.prev.next = entry.next
    if (entry.next === undefined) this.tail = entry.prev
    else entry.next.prev = entry.prev
    const list = this.byKey.get(entry.key)!
    if (entry.kprev === undefined) list.head = entry.knext
    else entry.kprev.knext = entry.knext
    if (entry.knext === undefined) list.tail = entry.kprev
    else entry.knext.kprev = entry.kprev
    if (list.head === undefined) this.byKey.delete(entry.key)
    entry.prev = entry.next = entry.kprev = entry.knext = undefined
    this.size--
  }

  /** test one message against matchers in order; drops it if it has a matcher's key and is corrupt */
  private test(entry: Entry, matchers: ReadonlyArray<Matcher>): Hit | undefined {
    let bad = false
    for (let i = 0; i < matchers.length; i++) {
      const m = matchers[i]!
      if (m.keys !== undefined && !m.keys.has(entry.key)) continue
      const value = m.test(entry)
      if (value === NoMatch) continue
      if (value === BadPayload) {
        bad = true
        continue
      }
      return { entry, index: i, value }
    }
    if (bad) {
      this.remove(entry)
      this.onBadMessage(entry)
    }
    return undefined
  }

  /** the oldest message that any matcher accepts, and the first matcher that accepts it */
  find(matchers: ReadonlyArray<Matcher>): Hit | undefined {
    if (this.size === 0) return undefined
    if (matchers.length === 1 && matchers[0]!.key !== undefined) {
      // the hot path: one matcher, one key
      for (let e = this.byKey.get(matchers[0]!.key)?.head; e !== undefined; ) {
        const next: Entry | undefined = e.knext
        const hit = this.test(e, matchers)
        if (hit !== undefined) return hit
        e = next
      }
      return undefined
    }
    const keys = matchers.length === 1 ? matchers[0]!.keys : unionOfKeys(matchers)
    if (keys === undefined) {
      for (let e = this.head; e !== undefined; ) {
        const next = e.next
        const hit = this.test(e, matchers)
        if (hit !== undefined) return hit
        e = next
      }
      return undefined
    }
    const cursors: Array<Entry> = []
    for (const k of keys) {
      const head = this.byKey.get(k)?.head
      if (head !== undefined) cursors.push(head)
    }
    if (cursors.length === 0) return undefined
    if (cursors.length === 1) {
      for (let e: Entry | undefined = cursors[0]; e !== undefined; ) {
        const next: Entry | undefined = e.knext
        const hit = this.test(e, matchers)
        if (hit !== undefined) return hit
        e = next
      }
      return undefined
    }
    // several keys: walk their lists merged by arrival order
    const merged: Array<Entry | undefined> = cursors
    while (true) {
      let best = -1
      for (let c = 0; c < merged.length; c++) {
        const e = merged[c]
        if (e !== undefined && (best < 0 || e.seq < merged[best]!.seq)) best = c
      }
      if (best < 0) return undefined
      const e = merged[best]!
      merged[best] = e.knext
      const hit = this.test(e, matchers)
      if (hit !== undefined) return hit
    }
  }

  /**
   * Find, or wait for, the oldest accepted message; it stays in the mailbox until `remove`.
   * A waiting fiber is woken through its scheduler, never on a local sender's stack: a chain of
   * processes that each receive and send on cannot overflow the stack, and a sender can queue
   * several messages before the receiver runs. (Resuming receivers of remote messages on the microtask
   * queue was tried: lower latency, but on the in-memory transport, which delivers on microtasks
   * too, a busy conversation then starved timers.)
   */
  await(matchers: ReadonlyArray<Matcher>): Effect.Effect<Hit> {
    return Effect.withFiber((fiber) =>
      Effect.callback<Hit>((resume) => {
        const hit = this.find(matchers)
        if (hit !== undefined) {
          resume(Effect.succeed(hit))
          return
        }
        const dispatcher = fiber.currentDispatcher
        const waiter: Waiter = {
          matchers,
          resume: (h) => dispatcher.scheduleTask(() => resume(Effect.succeed(h)), 0),
          die: (error) => dispatcher.scheduleTask(() => resume(Effect.die(error)), 0)
        }
        this.waiters.push(waiter)
        return Effect.sync(() => {
          const i = this.waiters.indexOf(waiter)
          if (i >= 0) this.waiters.splice(i, 1)
        })
      })
    )
  }

  /** a message, removed, or undefined: the non-blocking form used by polls */
  takeNow(matchers: ReadonlyArray<Matcher>): Hit | undefined {
    const hit = this.find(matchers)
    if (hit !== undefined) this.remove(hit.entry)
    return hit
  }

  /** remove every message (the process died) */
  clear(): void {
    this.head = this.tail = undefined
    this.byKey.clear()
    this.size = 0
  }
}
