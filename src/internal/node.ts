/**
 * The node runtime: the process table, the registry, routing of messages and signals between
 * processes of this node and (through the transport) of other nodes, and the bookkeeping of links
 * and monitors. Everything here is synchronous; the public modules wrap it in effects.
 * @internal
 */
import { Cause, type Context, Effect, Exit, type Fiber, Option, type Schema, type Scope } from "effect"
import * as Message from "../Message.ts"
import { NodeId } from "../NodeId.ts"
import {
  DiedException,
  type DiedReason,
  diedDisconnect,
  diedNodeDown,
  diedNormal,
  diedUnknownId,
  MonitorRef,
  NodeMonitorNotification,
  ProcessLinkException,
  ProcessMonitorNotification
} from "../Notification.ts"
import { ProcessId, key as pidKey } from "../ProcessId.ts"
import * as Protocol from "../Protocol.ts"
import type { EndPoint, TransportEvent } from "../Transport.ts"
import type { NodeService, ProcessService } from "./context.ts"
import { BadPayload, type Entry, Mailbox, type Matcher, NoMatch } from "./mailbox.ts"
import { type ChannelBuffer, Empty } from "./port.ts"

/** Why a process is being stopped from outside. */
export type Signal =
  | { readonly _tag: "Link"; readonly error: ProcessLinkException }
  | { readonly _tag: "Kill"; readonly from: ProcessId; readonly reason: string }
  | { readonly _tag: "Exit"; readonly from: ProcessId; readonly reason: unknown }

/** An active `catchExit`: its body fiber, and what reasons it accepts. */
export interface CatchFrame {
  readonly accepts: (key: string, value: unknown, payload: Uint8Array | undefined) => unknown
  fiber: Fiber.Fiber<unknown, unknown> | undefined
  caught: { readonly from: ProcessId; readonly reason: unknown } | undefined
}

interface OutgoingMonitor {
  readonly ref: MonitorRef
  readonly target: ProcessId
}

interface NodeMonitor {
  readonly ref: MonitorRef
  readonly node: NodeId
}

const refKey = (ref: MonitorRef) => `${pidKey(ref.watcher)}#${ref.id}`

export const describeSignal = (signal: Signal): string => {
  switch (signal._tag) {
    case "Link":
      return `ProcessLinkException: ${signal.error.message}`
    case "Kill":
      return `killed-by=${signal.from},reason=${signal.reason}`
    case "Exit":
      return `exit-from=${signal.from},reason=${showValue(signal.reason)}`
  }
}

export const showValue = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`
  return String(value)
}

const describeError = (error: unknown): string => {
  if (error instanceof Error) {
    const tag = (error as { readonly _tag?: unknown })._tag
    return `${typeof tag === "string" ? tag : error.name}: ${error.message || fieldsOf(error)}`
  }
  return showValue(error)
}

/** the own fields of an error without a message (a Schema.TaggedError's fields) */
const fieldsOf = (error: Error): string => {
  const fields = Object.entries(error).filter(([k]) => k !== "_tag" && k !== "stack")
  return fields.map(([k, v]) => `${k}=${showValue(v)}`).join(", ")
}

/** One process: its mailbox, channels, links and monitors. */
export class ProcessState implements ProcessService {
  readonly mailbox = new Mailbox()
  fiber: Fiber.Fiber<unknown, unknown> | undefined = undefined
  alive = true
  signal: Signal | undefined = undefined
  /** processes this one links to (keyed by pid key) */
  readonly links = new Map<string, ProcessId>()
  /** processes linked to this one */
  readonly linkedBy = new Map<string, ProcessId>()
  /** monitors this process holds, by ref id */
  readonly monitors = new Map<number, OutgoingMonitor>()
  /** node monitors this process holds, by ref id */
  readonly nodeMonitors = new Map<number, NodeMonitor>()
  /** monitors held on this process, by ref key */
  readonly monitoredBy = new Map<string, MonitorRef>()
  readonly names = new Set<string>()
  readonly channels = new Map<number, ChannelBuffer<unknown>>()
  readonly catchFrames: Array<CatchFrame> = []
  readonly onDeath: Array<(reason: DiedReason) => void> = []
  nextRef = 0
  nextChannel = 0

  readonly self: ProcessId
  readonly node: LocalNode

  constructor(self: ProcessId, node: LocalNode) {
    this.self = self
    this.node = node
  }

  get nodeId(): NodeId {
    return this.self.node
  }
}

/** A snapshot of a live process. */
export interface ProcessInfoData {
  readonly node: NodeId
  readonly registeredNames: ReadonlyArray<string>
  readonly messageQueueLength: number
  readonly links: ReadonlyArray<ProcessId>
  readonly monitors: ReadonlyArray<readonly [ProcessId, MonitorRef]>
}

let incarnations = 0
const newIncarnation = () => Date.now() * 1000 + (incarnations++ % 1000)

export class LocalNode implements NodeService {
  readonly nodeId: NodeId
  readonly address: string
  readonly incarnation = newIncarnation()
  readonly processes = new Map<number, ProcessState>()
  readonly registry = new Map<string, ProcessId>()
  private nextId = 1
  closing = false
  private readonly runFork: <A, E>(effect: Effect.Effect<A, E>) => void

  readonly endpoint: EndPoint | undefined
  readonly scope: Scope.Scope

  constructor(endpoint: EndPoint | undefined, address: string, scope: Scope.Scope, context: Context.Context<never>) {
    this.endpoint = endpoint
    this.scope = scope
    this.address = address
    this.nodeId = new NodeId({ address })
    const run = Effect.runForkWith(context)
    this.runFork = (effect) => {
      run(effect)
    }
  }

  private log(message: string): void {
    this.runFork(Effect.logWarning(message).pipe(Effect.annotateLogs({ node: this.address })))
  }

  isLocal(pid: ProcessId): boolean {
    return pid.node.address === this.address
  }

  /** the live local process with this pid */
  lookup(pid: ProcessId): ProcessState | undefined {
    if (pid.node.address !== this.address || pid.incarnation !== this.incarnation) return undefined
    return this.processes.get(pid.id)
  }

  newProcess(): ProcessState {
    const pid = new ProcessId({ node: this.nodeId, incarnation: this.incarnation, id: this.nextId++ })
    const state = new ProcessState(pid, this)
    state.mailbox.onBadMessage = (entry) =>
      this.log(
        `dropped a ${entry.key} message from ${entry.sender ?? "an unknown sender"} to ${pid}: it does not decode`
      )
    this.processes.set(pid.id, state)
    return state
  }

  // ---------------------------------------------------------------------------------------------
  // messages

  send(from: ProcessId | undefined, to: ProcessId, value: unknown): void {
    if (this.isLocal(to)) {
      this.lookup(to)?.mailbox.push(Message.keyOf(value), value, undefined, from)
      return
    }
    const key = Message.keyOf(value)
    this.sendFrame(to.node.address, new Protocol.Send({ to, from: from ?? null, key, payload: Message.encode(value) }))
  }

  sendChan(pid: ProcessId, index: number, value: unknown): void {
    if (this.isLocal(pid)) {
      this.lookup(pid)?.channels.get(index)?.push(value)
      return
    }
    const key = Message.keyOf(value)
    this.sendFrame(pid.node.address, new Protocol.SendChan({ pid, index, key, payload: Message.encode(value) }))
  }

  forwardEncoded(from: ProcessId | undefined, to: ProcessId, key: string, payload: Uint8Array): void {
    this.sendFrame(to.node.address, new Protocol.Send({ to, from: from ?? null, key, payload }))
  }

  /** the addresses of the nodes this node has talked to */
  readonly peers = new Set<string>()

  private sendFrame(address: string, frame: Protocol.Frame): void {
    if (this.endpoint === undefined) {
      queueMicrotask(() => this.connectionLost(address))
      return
    }
    this.peers.add(address)
    this.endpoint.send(address, Protocol.encodeFrame(frame))
  }

  /** whether a node can be reached (connecting to it if need be) */
  reach(node: NodeId): Effect.Effect<boolean> {
    if (node.address === this.address) return Effect.succeed(!this.closing)
    if (this.endpoint === undefined) return Effect.succeed(false)
    this.peers.add(node.address)
    return this.endpoint.connect(node.address).pipe(
      Effect.as(true),
      Effect.catch(() => Effect.succeed(false))
    )
  }

  // ---------------------------------------------------------------------------------------------
  // monitors and links

  monitor(watcher: ProcessState, target: ProcessId): MonitorRef {
    const ref = new MonitorRef({ watcher: watcher.self, id: watcher.nextRef++ })
    if (this.isLocal(target)) {
      const t = this.lookup(target)
      if (t === undefined || !t.alive) {
        watcher.mailbox.push(
          "ProcessMonitorNotification",
          new ProcessMonitorNotification({ ref, pid: target, reason: diedUnknownId }),
          undefined,
          undefined
        )
      } else {
        watcher.monitors.set(ref.id, { ref, target })
        t.monitoredBy.set(refKey(ref), ref)
      }
      return ref
    }
    watcher.monitors.set(ref.id, { ref, target })
    this.sendFrame(target.node.address, new Protocol.Monitor({ ref, to: target }))
    return ref
  }

  unmonitor(watcher: ProcessState, ref: MonitorRef): void {
    const m = watcher.monitors.get(ref.id)
    if (m !== undefined) {
      watcher.monitors.delete(ref.id)
      if (this.isLocal(m.target)) this.lookup(m.target)?.monitoredBy.delete(refKey(ref))
      else this.sendFrame(m.target.node.address, new Protocol.Unmonitor({ ref, to: m.target }))
    }
    const n = watcher.nodeMonitors.get(ref.id)
    if (n !== undefined) watcher.nodeMonitors.delete(ref.id)
    // a notification that is already in the mailbox is flushed, so none is seen after unmonitor
    flushNotification(watcher.mailbox, ref)
  }

  monitorNode(watcher: ProcessState, node: NodeId, reachable: boolean): MonitorRef {
    const ref = new MonitorRef({ watcher: watcher.self, id: watcher.nextRef++ })
    if (!reachable) {
      watcher.mailbox.push(
        "NodeMonitorNotification",
        new NodeMonitorNotification({ ref, node, reason: diedDisconnect }),
        undefined,
        undefined
      )
    } else if (node.address !== this.address) {
      watcher.nodeMonitors.set(ref.id, { ref, node })
    }
    return ref
  }

  link(watcher: ProcessState, target: ProcessId): void {
    if (this.isLocal(target)) {
      const t = this.lookup(target)
      if (t === undefined || !t.alive) {
        this.interrupt(watcher, {
          _tag: "Link",
          error: new ProcessLinkException({ pid: target, reason: diedUnknownId })
        })
        return
      }
      watcher.links.set(pidKey(target), target)
      t.linkedBy.set(pidKey(watcher.self), watcher.self)
      return
    }
    watcher.links.set(pidKey(target), target)
    this.sendFrame(target.node.address, new Protocol.Link({ from: watcher.self, to: target }))
  }

  unlink(watcher: ProcessState, target: ProcessId): void {
    const k = pidKey(target)
    if (!watcher.links.delete(k)) return
    if (this.isLocal(target)) this.lookup(target)?.linkedBy.delete(pidKey(watcher.self))
    else this.sendFrame(target.node.address, new Protocol.Unlink({ from: watcher.self, to: target }))
  }

  // ---------------------------------------------------------------------------------------------
  // exit signals

  /** stop a process from outside; the first signal wins */
  interrupt(target: ProcessState, signal: Signal): void {
    if (!target.alive || target.signal !== undefined) return
    target.signal = signal
    target.fiber?.interruptUnsafe()
  }

  kill(from: ProcessId, to: ProcessId, reason: string): void {
    if (this.isLocal(to)) {
      const t = this.lookup(to)
      if (t !== undefined) this.interrupt(t, { _tag: "Kill", from, reason })
      return
    }
    this.sendFrame(to.node.address, new Protocol.Kill({ from, to, reason }))
  }

  exit(from: ProcessId, to: ProcessId, reason: unknown): void {
    if (this.isLocal(to)) {
      const t = this.lookup(to)
      if (t !== undefined) this.deliverExit(t, from, Message.keyOf(reason), reason, undefined)
      return
    }
    this.sendFrame(
      to.node.address,
      new Protocol.Exit({ from, to, key: Message.keyOf(reason), payload: Message.encode(reason) })
    )
  }

  private deliverExit(
    target: ProcessState,
    from: ProcessId,
    key: string,
    value: unknown,
    payload: Uint8Array | undefined
  ): void {
    if (!target.alive || target.signal !== undefined) return
    for (let i = target.catchFrames.length - 1; i >= 0; i--) {
      const frame = target.catchFrames[i]!
      if (frame.caught !== undefined) continue
      const reason = frame.accepts(key, value, payload)
      if (reason === NoMatch || reason === BadPayload) continue
      frame.caught = { from, reason }
      frame.fiber?.interruptUnsafe()
      return
    }
    this.interrupt(target, {
      _tag: "Exit",
      from,
      reason: payload === undefined ? value : `${key}(${payload.length} bytes)`
    })
  }

  // ---------------------------------------------------------------------------------------------
  // registry

  unregisterPid(state: ProcessState): void {
    for (const name of state.names) {
      const pid = this.registry.get(name)
      if (pid !== undefined && pidKey(pid) === pidKey(state.self)) this.registry.delete(name)
    }
    state.names.clear()
  }

  // ---------------------------------------------------------------------------------------------
  // death

  reasonOf(state: ProcessState, exit: Exit.Exit<unknown, unknown>): DiedReason {
    if (Exit.isSuccess(exit)) return diedNormal
    if (state.signal !== undefined) return new DiedException({ error: describeSignal(state.signal) })
    const cause = exit.cause
    const error = Cause.findErrorOption(cause)
    if (Option.isSome(error)) return new DiedException({ error: describeError(error.value) })
    const defect = cause.reasons.find(Cause.isDieReason)
    if (defect !== undefined) return new DiedException({ error: describeError(defect.defect) })
    return this.closing ? diedNodeDown : new DiedException({ error: "interrupted" })
  }

  /** a process ended: notify its monitors and links, forget its names, channels and monitors */
  died(state: ProcessState, reason: DiedReason): void {
    if (!state.alive) return
    state.alive = false
    this.processes.delete(state.self.id)
    this.unregisterPid(state)
    state.mailbox.clear()
    for (const c of state.channels.values()) c.clear()
    state.channels.clear()
    const pid = state.self
    for (const ref of state.monitoredBy.values()) this.notifyMonitor(ref, pid, reason)
    state.monitoredBy.clear()
    for (const watcher of state.linkedBy.values()) this.notifyLink(watcher, pid, reason)
    state.linkedBy.clear()
    for (const m of state.monitors.values()) {
      if (this.isLocal(m.target)) this.lookup(m.target)?.monitoredBy.delete(refKey(m.ref))
      else if (!this.closing)
        this.sendFrame(m.target.node.address, new Protocol.Unmonitor({ ref: m.ref, to: m.target }))
    }
    state.monitors.clear()
    state.nodeMonitors.clear()
    for (const target of state.links.values()) {
      if (this.isLocal(target)) this.lookup(target)?.linkedBy.delete(pidKey(pid))
      else if (!this.closing) this.sendFrame(target.node.address, new Protocol.Unlink({ from: pid, to: target }))
    }
    state.links.clear()
    for (const f of state.onDeath) f(reason)
    state.onDeath.length = 0
  }

  private notifyMonitor(ref: MonitorRef, pid: ProcessId, reason: DiedReason): void {
    if (this.isLocal(ref.watcher)) {
      const w = this.lookup(ref.watcher)
      if (w === undefined || !w.monitors.delete(ref.id)) return
      w.mailbox.push("ProcessMonitorNotification", new ProcessMonitorNotification({ ref, pid, reason }), undefined, pid)
      return
    }
    this.sendFrame(ref.watcher.node.address, new Protocol.Died({ watcher: ref.watcher, ref, pid, reason }))
  }

  private notifyLink(watcher: ProcessId, pid: ProcessId, reason: DiedReason): void {
    if (this.isLocal(watcher)) {
      const w = this.lookup(watcher)
      if (w === undefined || !w.links.delete(pidKey(pid))) return
      this.interrupt(w, { _tag: "Link", error: new ProcessLinkException({ pid, reason }) })
      return
    }
    this.sendFrame(watcher.node.address, new Protocol.Died({ watcher, ref: null, pid, reason }))
  }

  // ---------------------------------------------------------------------------------------------
  // the transport

  readonly onEvent = (event: TransportEvent): void => {
    if (event._tag === "ConnectionLost") {
      this.connectionLost(event.peer)
      return
    }
    this.peers.add(event.from)
    let frame: Protocol.Frame
    try {
      frame = Protocol.decodeFrame(event.bytes)
    } catch (error) {
      this.log(`dropped a frame from ${event.from} that is not a protocol message: ${describeError(error)}`)
      return
    }
    this.handle(event.from, frame)
  }

  private handle(from: string, frame: Protocol.Frame): void {
    switch (frame._tag) {
      case "Send": {
        this.lookup(frame.to)?.mailbox.push(frame.key, undefined, frame.payload, frame.from ?? undefined)
        return
      }
      case "SendChan": {
        const channel = this.lookup(frame.pid)?.channels.get(frame.index)
        if (channel === undefined) return
        const value = channel.decode(frame.key, frame.payload)
        if (value === Empty) {
          this.log(
            `dropped a ${frame.key} value from ${from} for channel ${frame.index} of ${frame.pid}: it does not decode`
          )
          return
        }
        channel.push(value)
        return
      }
      case "Link": {
        const t = this.lookup(frame.to)
        if (t === undefined || !t.alive) this.notifyLink(frame.from, frame.to, diedUnknownId)
        else t.linkedBy.set(pidKey(frame.from), frame.from)
        return
      }
      case "Unlink": {
        this.lookup(frame.to)?.linkedBy.delete(pidKey(frame.from))
        return
      }
      case "Monitor": {
        const t = this.lookup(frame.to)
        if (t === undefined || !t.alive) this.notifyMonitor(frame.ref, frame.to, diedUnknownId)
        else t.monitoredBy.set(refKey(frame.ref), frame.ref)
        return
      }
      case "Unmonitor": {
        this.lookup(frame.to)?.monitoredBy.delete(refKey(frame.ref))
        return
      }
      case "Died": {
        const w = this.lookup(frame.watcher)
        if (w === undefined) return
        if (frame.ref !== null) {
          if (!w.monitors.delete(frame.ref.id)) return
          w.mailbox.push(
            "ProcessMonitorNotification",
            new ProcessMonitorNotification({ ref: frame.ref, pid: frame.pid, reason: frame.reason }),
            undefined,
            frame.pid
          )
        } else {
          if (!w.links.delete(pidKey(frame.pid))) return
          this.interrupt(w, { _tag: "Link", error: new ProcessLinkException({ pid: frame.pid, reason: frame.reason }) })
        }
        return
      }
      case "Exit": {
        const t = this.lookup(frame.to)
        if (t !== undefined) this.deliverExit(t, frame.from, frame.key, undefined, frame.payload)
        return
      }
      case "Kill": {
        const t = this.lookup(frame.to)
        if (t !== undefined) this.interrupt(t, { _tag: "Kill", from: frame.from, reason: frame.reason })
        return
      }
      case "Goodbye": {
        this.peerDown(from, diedNodeDown)
        return
      }
    }
  }

  /** the connection to `peer` is gone: every monitor and link on its processes fires */
  connectionLost(peer: string): void {
    this.peerDown(peer, diedDisconnect)
  }

  private peerDown(peer: string, nodeReason: DiedReason): void {
    for (const state of [...this.processes.values()]) {
      for (const [id, m] of state.monitors) {
        if (m.target.node.address !== peer) continue
        state.monitors.delete(id)
        state.mailbox.push(
          "ProcessMonitorNotification",
          new ProcessMonitorNotification({ ref: m.ref, pid: m.target, reason: diedDisconnect }),
          undefined,
          undefined
        )
      }
      for (const [id, n] of state.nodeMonitors) {
        if (n.node.address !== peer) continue
        state.nodeMonitors.delete(id)
        state.mailbox.push(
          "NodeMonitorNotification",
          new NodeMonitorNotification({ ref: n.ref, node: n.node, reason: nodeReason }),
          undefined,
          undefined
        )
      }
      for (const [k, w] of state.monitoredBy) if (w.watcher.node.address === peer) state.monitoredBy.delete(k)
      for (const [k, w] of state.linkedBy) if (w.node.address === peer) state.linkedBy.delete(k)
      for (const [k, target] of state.links) {
        if (target.node.address !== peer) continue
        state.links.delete(k)
        this.interrupt(state, {
          _tag: "Link",
          error: new ProcessLinkException({ pid: target, reason: diedDisconnect })
        })
      }
    }
  }

  /** tell every peer this node talked to that it is going away */
  goodbye(peers: Iterable<string>): void {
    if (this.endpoint === undefined) return
    const bytes = Protocol.encodeFrame(new Protocol.Goodbye({}))
    for (const peer of peers) this.endpoint.send(peer, bytes)
  }

  info(state: ProcessState): ProcessInfoData {
    return {
      node: this.nodeId,
      registeredNames: [...state.names],
      messageQueueLength: state.mailbox.size,
      links: [...state.links.values()],
      monitors: [...state.monitors.values()].map((m) => [m.target, m.ref] as const)
    }
  }
}

const flushNotification = (mailbox: Mailbox, ref: MonitorRef): void => {
  const matcher: Matcher = {
    keys: new Set(["ProcessMonitorNotification", "NodeMonitorNotification"]),
    test: (entry: Entry) => {
      const n = entry.value as ProcessMonitorNotification | NodeMonitorNotification | undefined
      return n !== undefined && n.ref.id === ref.id && pidKey(n.ref.watcher) === pidKey(ref.watcher) ? n : NoMatch
    }
  }
  mailbox.takeNow([matcher])
}

/** a matcher for a schema, with an optional guard */
export const schemaMatcher = <A>(schema: Schema.Schema<A>, guard?: (a: A) => boolean): Matcher => {
  const info = Message.infoOf(schema)
  return {
    keys: info.keys,
    test: (entry) => {
      let value: unknown
      if (entry.payload === undefined) {
        if (!info.is(entry.value)) return NoMatch
        value = entry.value
      } else {
        const decoded = Message.decode(schema, entry.key, entry.payload)
        if (Option.isNone(decoded)) return info.keys !== undefined ? BadPayload : NoMatch
        value = decoded.value
      }
      return guard === undefined || guard(value as A) ? value : NoMatch
    }
  }
}
