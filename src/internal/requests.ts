/**
 * Requests a process gave up on. A request-reply exchange (remote spawn, `call`, a remote
 * `getProcessInfo`) that is interrupted before its reply came must not leave that reply in the
 * mailbox for ever: the reply is taken now if it is already there, and otherwise dropped when it
 * arrives (and `onLate` runs, e.g. to kill a process whose spawn was abandoned).
 * @internal
 */
import { BadPayload, type Entry, type Matcher, NoMatch } from "./mailbox.ts"
import type { ProcessState } from "./node.ts"

interface Abandoned {
  /** the replies it may get (any one of them ends it) */
  readonly matchers: ReadonlyArray<Matcher>
  readonly onLate: ((reply: unknown) => void) | undefined
}

/**
 * At most this many abandoned requests are remembered per process (replies that never come, e.g.
 * from a node that went away, must not grow the list for ever); the oldest is forgotten first.
 */
const limit = 1024

const pending = new WeakMap<ProcessState, Array<Abandoned>>()

const accepts = (matcher: Matcher, entry: Entry): unknown => {
  if (matcher.keys !== undefined && !matcher.keys.has(entry.key)) return NoMatch
  const value = matcher.test(entry)
  return value === BadPayload ? NoMatch : value
}

/**
 * Give up on a request whose reply any of `matchers` accepts: take the reply from the mailbox if
 * it is there, else drop it on arrival. `onLate` gets the reply either way.
 */
export const abandon = (
  state: ProcessState,
  matchers: ReadonlyArray<Matcher>,
  onLate?: (reply: unknown) => void
): void => {
  if (!state.alive) return
  const hit = state.mailbox.takeNow(matchers)
  if (hit !== undefined) {
    onLate?.(hit.value)
    return
  }
  let list = pending.get(state)
  if (list === undefined) {
    list = []
    pending.set(state, list)
  }
  if (list.length >= limit) list.shift()
  list.push({ matchers, onLate })
  const abandoned = list
  state.mailbox.discard = (key, value, payload) => {
    const entry = { key, value, payload } as Entry
    for (let i = 0; i < abandoned.length; i++) {
      const a = abandoned[i]!
      for (const m of a.matchers) {
        const reply = accepts(m, entry)
        if (reply === NoMatch) continue
        abandoned.splice(i, 1)
        if (abandoned.length === 0) state.mailbox.discard = undefined
        a.onLate?.(reply)
        return true
      }
    }
    return false
  }
}
