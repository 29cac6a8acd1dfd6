/**
 * Requests a process gave up on. A request-reply exchange (remote spawn, `call`, a remote
 * `getProcessInfo`) that is interrupted before its reply came must not leave that reply in the
 * mailbox for ever: the reply is taken now if it is already there, and otherwise dropped when it
 * arrives. (An abandoned spawn is the node's to remember: `LocalNode.abandonSpawn`.)
 * @internal
 */
import { BadPayload, type Entry, type Matcher, NoMatch } from "./mailbox.ts"
import type { ProcessState } from "./node.ts"

interface Abandoned {
  /** the replies it may get (any one of them ends it) */
  readonly matchers: ReadonlyArray<Matcher>
}

/**
 * At most this many abandoned requests are remembered per process (replies that never come, e.g.
 * from a node that went away, must not grow the list for ever); the oldest is forgotten first.
 */
const limit = 1024

/**
 * A process's abandoned requests, and the message keys their replies may have: every message the
 * process gets is checked against them, so a key that no reply has costs one lookup.
 */
interface Pending {
  readonly list: Array<Abandoned>
  /** how many of the requests' matchers accept each key */
  readonly keys: Map<string, number>
  /** matchers that accept any key (then every message is tested) */
  wildcards: number
}

const pending = new WeakMap<ProcessState, Pending>()

const count = (p: Pending, a: Abandoned, by: 1 | -1): void => {
  for (const m of a.matchers) {
    if (m.keys === undefined) {
      p.wildcards += by
      continue
    }
    for (const k of m.keys) {
      const n = (p.keys.get(k) ?? 0) + by
      if (n === 0) p.keys.delete(k)
      else p.keys.set(k, n)
    }
  }
}

const accepts = (matcher: Matcher, entry: Entry): unknown => {
  if (matcher.keys !== undefined && !matcher.keys.has(entry.key)) return NoMatch
  const value = matcher.test(entry)
  return value === BadPayload ? NoMatch : value
}

/**
 * Give up on a request whose reply any of `matchers` accepts: take the reply from the mailbox if
 * it is there, else drop it on arrival.
 */
export const abandon = (state: ProcessState, matchers: ReadonlyArray<Matcher>): void => {
  if (!state.alive) return
  if (state.mailbox.takeNow(matchers) !== undefined) return
  let p = pending.get(state)
  if (p === undefined) {
    p = { list: [], keys: new Map(), wildcards: 0 }
    pending.set(state, p)
  }
  const mine = p
  if (mine.list.length >= limit) count(mine, mine.list.shift()!, -1)
  const request: Abandoned = { matchers }
  mine.list.push(request)
  count(mine, request, 1)
  state.mailbox.discard = (key, value, payload) => {
    if (mine.wildcards === 0 && !mine.keys.has(key)) return false
    const entry = { key, value, payload } as Entry
    const list = mine.list
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!
      for (const m of a.matchers) {
        if (accepts(m, entry) === NoMatch) continue
        list.splice(i, 1)
        count(mine, a, -1)
        if (list.length === 0) state.mailbox.discard = undefined
        return true
      }
    }
    return false
  }
}
