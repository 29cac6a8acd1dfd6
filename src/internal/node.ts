/**
 * The node runtime: the process table, the registry, routing of messages and signals between
 * processes of this node and (through the transport) of other nodes, and the bookkeeping of links
 * and monitors. Everything here is synchronous; the public modules wrap it in effects.
 * @internal
 */
import { Cause, Context, Effect, Exit, type Fiber, Option, Schema, type Scope } from "effect"
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
import {
  builtins,
  CallFailed,
  CallReply,
  type Closure,
  type Definition,
  DidSpawn,
  ProcessInfo,
  ProcessInfoReply,
  RegisterReply,
  RemoteTable,
  SpawnFailed,
  type SpawnRef,
  WhereIsReply
} from "./closure.ts"
import type { CurrentProcess, NodeService, ProcessService } from "./context.ts"
import { BadPayload, type Entry, Mailbox, type Matcher, NoMatch } from "./mailbox.ts"
import { ChannelTable, Empty } from "./port.ts"
import { start as startProcess } from "./spawn.ts"

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
  readonly channels = new ChannelTable()
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

/** Why a registration failed: the name is taken, not registered (reregister), or the pid is dead. */
export type RegisterFailure = "taken" | "missing" | "dead"

/** A snapshot of a live process. */
export interface ProcessInfoData {
  readonly node: NodeId
  readonly registeredNames: ReadonlyArray<string>
  readonly messageQueueLength: number
  readonly links: ReadonlyArray<ProcessId>
  readonly monitors: ReadonlyArray<readonly [ProcessId, MonitorRef]>
}

let incarnations = 0
/** a spawn request's key: its requester and its number */
const spawnKey = (ref: SpawnRef): string => `${pidKey(ref.requester)}#${ref.id}`

/** how many abandoned spawns a node remembers (the oldest is forgotten first) */
const maxAbandonedSpawns = 1024

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
  private readonly runSync: <A, E>(effect: Effect.Effect<A, E>) => A
  readonly table: ReadonlyMap<string, Definition>
  /** the pseudo-pid the node uses to watch the remote pids in its registry */
  readonly registryWatcher: ProcessId
  /**
   * Spawns of this node's processes that were given up on before their reply came, by
   * `spawnKey`: the process a late DidSpawn names is killed with this reason, even if its
   * requester has ended since (nobody else can learn its pid). At most `maxAbandonedSpawns` are
   * kept (a reply that never comes, from a node gone away, must not grow it for ever).
   */
  private readonly abandonedSpawns = new Map<string, string>()
  /** the nodes told (`WatchNode`) that this one monitors them, since the connection to each was made */
  private readonly watching = new Set<string>()

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
    this.runSync = Effect.runSyncWith(context)
    this.table = Option.getOrElse(Context.getOption(context, RemoteTable), () => new Map<string, Definition>())
    this.registryWatcher = new ProcessId({ node: this.nodeId, incarnation: this.incarnation, id: 0 })
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
    this.sendBytes(
      to.node.address,
      Protocol.encodeSend(to, from ?? null, Message.keyOf(value), Message.encodeView(value))
    )
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
    this.sendBytes(to.node.address, Protocol.encodeSend(to, from ?? null, key, payload))
  }

  /** the addresses of the nodes this node has talked to */
  readonly peers = new Set<string>()

  private sendFrame(address: string, frame: Protocol.Frame): void {
    this.sendBytes(address, this.endpoint === undefined ? new Uint8Array(0) : Protocol.encodeFrame(frame))
  }

  private sendBytes(address: string, bytes: Uint8Array): void {
    if (this.endpoint === undefined) {
      queueMicrotask(() => this.connectionLost(address))
      return
    }
    this.peers.add(address)
    this.endpoint.send(address, bytes)
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
    // a ref of another process's monitor is not this one's to remove (Erlang's demonitor of a
    // reference it does not own does nothing)
    if (pidKey(ref.watcher) !== pidKey(watcher.self)) return
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
      // so that the node says Goodbye to this one when it shuts down (DiedNodeDown, not a lost
      // connection), even if nothing else was ever sent to it: once per connection
      if (!this.watching.has(node.address)) {
        this.watching.add(node.address)
        this.sendFrame(node.address, new Protocol.WatchNode({}))
      }
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
  // remote spawn

  definition(name: string): Definition | undefined {
    return this.table.get(name) ?? builtins.get(name)
  }

  spawnRemote(ref: SpawnRef, node: NodeId, closure: Closure, call: boolean): void {
    if (node.address === this.address) this.spawnClosure(ref, closure, call)
    else this.sendFrame(node.address, new Protocol.Spawn({ ref, closure, call }))
  }

  /** start a closure from the table for `ref.requester` and tell it the pid (or why not) */
  private spawnClosure(ref: SpawnRef, closure: Closure, call: boolean): void {
    const definition = this.definition(closure.name)
    if (definition === undefined) {
      this.log(`refused to spawn ${JSON.stringify(closure.name)} for ${ref.requester}: not in this node's RemoteTable`)
      this.spawnReply(ref, undefined, `unknown closure ${JSON.stringify(closure.name)}`)
      return
    }
    const body = definition.instantiate(closure.env)
    if (Option.isNone(body)) {
      this.log(`refused to spawn ${JSON.stringify(closure.name)} for ${ref.requester}: the environment does not decode`)
      this.spawnReply(ref, undefined, `the environment of ${JSON.stringify(closure.name)} does not decode`)
      return
    }
    if (this.closing) {
      this.spawnReply(ref, undefined, "the node is shutting down")
      return
    }
    const program = call ? this.callWrapper(ref, definition, body.value) : body.value
    // the reply goes out before the process starts, so it arrives before anything the process sends
    this.runSync(
      startProcess(this, program as Effect.Effect<unknown, unknown, CurrentProcess>, (state) =>
        this.spawnReply(ref, state.self, undefined)
      )
    )
  }

  private callWrapper(ref: SpawnRef, definition: Definition, body: Effect.Effect<unknown, unknown, unknown>) {
    const result = definition.result
    // exactly one answer, whatever happens: a result, a failure, or the process killed from outside
    // (its caller gave up, or the node is closing), which also ends the caller's record of an
    // abandoned call (see requests.ts)
    let answered = false
    const answer = (message: CallReply | CallFailed) =>
      Effect.sync(() => {
        if (answered) return
        answered = true
        this.send(undefined, ref.requester, message)
      })
    const killed = answer(new CallFailed({ ref, reason: "the call's process was killed" }))
    return Effect.matchCauseEffect(
      Effect.onInterrupt(body, () => killed),
      {
        onSuccess: (value) => {
          if (result === undefined) return answer(new CallFailed({ ref, reason: "the closure has no result schema" }))
          let payload: Uint8Array
          try {
            payload = Schema.encodeSync(Message.infoOf(result).codec())(value)
          } catch (error) {
            return answer(new CallFailed({ ref, reason: `the result does not encode: ${describeError(error)}` }))
          }
          return answer(new CallReply({ ref, key: Message.keyOf(value), payload }))
        },
        onFailure: (cause) => {
          const error = Cause.findErrorOption(cause)
          const reason = Option.isSome(error) ? describeError(error.value) : Cause.pretty(cause).split("\n")[0]!
          return answer(new CallFailed({ ref, reason }))
        }
      }
    )
  }

  /**
   * The requester gave up on the spawn `ref` (it was interrupted while it waited): a reply already
   * in its mailbox is taken now, and one still to come is dropped on arrival; either way a process
   * it names is killed with `reason`, whether or not the requester still runs.
   */
  abandonSpawn(requester: ProcessState, ref: SpawnRef, reason: string): void {
    const ours = (m: { readonly ref: SpawnRef }) => spawnKey(m.ref) === spawnKey(ref)
    const hit = requester.mailbox.takeNow([schemaMatcher(DidSpawn, ours), schemaMatcher(SpawnFailed, ours)])
    if (hit !== undefined) {
      if (hit.value instanceof DidSpawn) this.kill(ref.requester, hit.value.pid, reason)
      return
    }
    if (this.abandonedSpawns.size >= maxAbandonedSpawns) {
      this.abandonedSpawns.delete(this.abandonedSpawns.keys().next().value!)
    }
    this.abandonedSpawns.set(spawnKey(ref), reason)
  }

  private spawnReply(ref: SpawnRef, pid: ProcessId | undefined, error: string | undefined): void {
    if (this.isLocal(ref.requester)) {
      const abandoned = this.abandonedSpawns.get(spawnKey(ref))
      if (abandoned !== undefined) {
        this.abandonedSpawns.delete(spawnKey(ref))
        if (pid !== undefined) this.kill(ref.requester, pid, abandoned)
        return
      }
      const w = this.lookup(ref.requester)
      if (w === undefined) return
      const message =
        pid !== undefined ? new DidSpawn({ ref, pid }) : new SpawnFailed({ ref, reason: error ?? "unknown" })
      w.mailbox.push(message._tag, message, undefined, undefined)
      return
    }
    this.sendFrame(ref.requester.node.address, new Protocol.SpawnReply({ ref, pid: pid ?? null, error: error ?? null }))
  }

  /** deliver a library reply to a process of this node, or send it to its node */
  reply(requester: ProcessId, message: WhereIsReply | RegisterReply | ProcessInfoReply): void {
    if (this.isLocal(requester)) this.lookup(requester)?.mailbox.push(message._tag, message, undefined, undefined)
    else this.sendFrame(requester.node.address, new Protocol.Reply({ requester, message }))
  }

  /** ask another node's registry or process table; the reply arrives in the requester's mailbox */
  request(node: NodeId, frame: Protocol.WhereIs | Protocol.Register | Protocol.GetInfo | Protocol.NSend): void {
    if (node.address === this.address) this.handle(this.address, frame)
    else this.sendFrame(node.address, frame)
  }

  infoOf(pid: ProcessId): ProcessInfo | null {
    const target = this.lookup(pid)
    if (target === undefined || !target.alive) return null
    const info = this.info(target)
    return new ProcessInfo({
      node: info.node,
      registeredNames: [...info.registeredNames],
      messageQueueLength: info.messageQueueLength,
      links: [...info.links],
      monitors: info.monitors.map(([p, r]) => [p, r] as const)
    })
  }

  // ---------------------------------------------------------------------------------------------
  // registry

  /**
   * Register `pid` as `name`; `done` is told the reason it cannot be done, or undefined. For a local
   * pid that is at once. A remote pid is monitored (so the name goes when it dies) and its node is
   * asked whether it is alive: `done` waits for the answer, and a pid that is dead (or whose node
   * cannot be reached) is "dead" and its name removed. Meanwhile the name already resolves to it.
   */
  registerName(
    name: string,
    pid: ProcessId,
    replace: boolean,
    done: (error: RegisterFailure | undefined) => void
  ): void {
    const existing = this.registry.get(name)
    let failure: RegisterFailure | undefined
    if (!replace && existing !== undefined) failure = "taken"
    else if (replace && existing === undefined) failure = "missing"
    else if (this.isLocal(pid)) {
      const target = this.lookup(pid)
      if (target === undefined || !target.alive) failure = "dead"
      else {
        this.releaseName(name)
        target.names.add(name)
        this.registry.set(name, pid)
      }
    }
    if (failure !== undefined || this.isLocal(pid)) {
      done(failure)
      return
    }
    this.releaseName(name)
    this.registry.set(name, pid)
    const ref = new MonitorRef({ watcher: this.registryWatcher, id: this.nextRegistryRef++ })
    this.registryRefs.set(name, ref)
    this.pendingRegistrations.set(ref.id, { name, pid, ref, done })
    // in this order on one connection: the monitor is in place before the node answers "alive"
    this.sendFrame(pid.node.address, new Protocol.Monitor({ ref, to: pid }))
    this.sendFrame(pid.node.address, new Protocol.GetInfo({ requester: this.registryWatcher, id: ref.id, pid }))
  }

  private nextRegistryRef = 1
  /** the monitors the registry holds on the remote pids registered here, by name */
  private readonly registryRefs = new Map<string, MonitorRef>()
  /** registrations of remote pids waiting for their node to say whether the pid is alive */
  private readonly pendingRegistrations = new Map<
    number,
    {
      readonly name: string
      readonly pid: ProcessId
      readonly ref: MonitorRef
      readonly done: (error: RegisterFailure | undefined) => void
    }
  >()

  /** the remote node answered whether a pid being registered is alive */
  private registrationChecked(id: number, alive: boolean): void {
    const pending = this.pendingRegistrations.get(id)
    if (pending === undefined) return
    this.pendingRegistrations.delete(id)
    if (!alive && this.registryRefs.get(pending.name)?.id === pending.ref.id) this.releaseName(pending.name)
    pending.done(alive ? undefined : "dead")
  }

  /** forget what the registry holds for `name` (the name itself, the pid's names, the monitor) */
  private releaseName(name: string): void {
    const pid = this.registry.get(name)
    if (pid === undefined) return
    this.registry.delete(name)
    this.lookup(pid)?.names.delete(name)
    const ref = this.registryRefs.get(name)
    if (ref !== undefined) {
      this.registryRefs.delete(name)
      this.sendFrame(pid.node.address, new Protocol.Unmonitor({ ref, to: pid }))
    }
  }

  unregisterName(name: string): boolean {
    if (!this.registry.has(name)) return false
    this.releaseName(name)
    return true
  }

  /** drop the names of remote pids that `pred` says are gone (no Unmonitor: the monitor fired) */
  private forgetNames(pred: (pid: ProcessId, ref: MonitorRef | undefined) => boolean): void {
    for (const [name, pid] of this.registry) {
      if (this.isLocal(pid) || !pred(pid, this.registryRefs.get(name))) continue
      this.registry.delete(name)
      this.registryRefs.delete(name)
    }
  }

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
    // no value reaches its channels any more; those already there stay readable through a
    // ReceivePort the process gave away (as in Cloud Haskell), and are freed with it
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

  handle(from: string, frame: Protocol.Frame): void {
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
        if (frame.watcher.id === 0 && this.isLocal(frame.watcher)) {
          const id = frame.ref?.id
          this.forgetNames((_, ref) => ref !== undefined && ref.id === id)
          return
        }
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
      case "Spawn": {
        this.spawnClosure(frame.ref, frame.closure, frame.call)
        return
      }
      case "SpawnReply": {
        this.spawnReply(frame.ref, frame.pid ?? undefined, frame.error ?? undefined)
        return
      }
      case "NSend": {
        const pid = this.registry.get(frame.name)
        if (pid === undefined) return
        if (this.isLocal(pid))
          this.lookup(pid)?.mailbox.push(frame.key, undefined, frame.payload, frame.from ?? undefined)
        else this.forwardEncoded(frame.from ?? undefined, pid, frame.key, frame.payload)
        return
      }
      case "WhereIs": {
        this.reply(frame.requester, new WhereIsReply({ name: frame.name, pid: this.registry.get(frame.name) ?? null }))
        return
      }
      case "Register": {
        this.registerName(frame.name, frame.pid, false, (error) =>
          this.reply(
            frame.requester,
            new RegisterReply({ name: frame.name, ok: error === undefined, error: error ?? null })
          )
        )
        return
      }
      case "GetInfo": {
        this.reply(frame.requester, new ProcessInfoReply({ id: frame.id, info: this.infoOf(frame.pid) }))
        return
      }
      case "Reply": {
        if (frame.requester.id === 0 && this.isLocal(frame.requester)) {
          if (frame.message._tag === "ProcessInfoReply")
            this.registrationChecked(frame.message.id, frame.message.info !== null)
          return
        }
        this.lookup(frame.requester)?.mailbox.push(frame.message._tag, frame.message, undefined, undefined)
        return
      }
      case "WatchNode":
        // (the sender is a peer now: it is told Goodbye)
        return
      case "Goodbye": {
        this.peerDown(from, diedNodeDown, frame.incarnation)
        return
      }
    }
  }

  /** the connection to `peer` is gone: every monitor and link on its processes fires */
  connectionLost(peer: string): void {
    this.peerDown(peer, diedDisconnect)
  }

  /**
   * The node at `peer` is gone: every monitor and link on its processes fires, and its names are
   * forgotten. With `incarnation` (its Goodbye says which it was), only that incarnation's
   * processes are gone: a node restarted at the same address may already have new ones here.
   */
  private peerDown(peer: string, nodeReason: DiedReason, incarnation?: number): void {
    const gone = (pid: ProcessId) =>
      pid.node.address === peer && (incarnation === undefined || pid.incarnation === incarnation)
    this.watching.delete(peer)
    this.forgetNames(gone)
    for (const [id, pending] of this.pendingRegistrations) if (gone(pending.pid)) this.registrationChecked(id, false)
    for (const state of [...this.processes.values()]) {
      for (const [id, m] of state.monitors) {
        if (!gone(m.target)) continue
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
      for (const [k, w] of state.monitoredBy) if (gone(w.watcher)) state.monitoredBy.delete(k)
      for (const [k, w] of state.linkedBy) if (gone(w)) state.linkedBy.delete(k)
      for (const [k, target] of state.links) {
        if (!gone(target)) continue
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
    // one encoding per peer: the transport owns the bytes it is given
    for (const peer of peers) {
      this.endpoint.send(peer, Protocol.encodeFrame(new Protocol.Goodbye({ incarnation: this.incarnation })))
    }
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

const primitiveKeys: ReadonlySet<string> = new Set([
  "string",
  "number",
  "boolean",
  "bigint",
  "null",
  "Uint8Array",
  "object",
  "other"
])

/**
 * The payload decodes with `schema` and only fails its top-level checks (a refinement the receiver
 * put on a message class): the message is sound, it is just not one the receiver takes.
 */
const failsOwnChecks = (schema: Schema.Top, payload: Uint8Array): boolean => {
  if (schema.ast.checks === undefined) return false
  const exit = Schema.decodeUnknownExit(Message.infoOf(schema).codec())(payload)
  if (Exit.isSuccess(exit)) return false
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error) || !Schema.isSchemaError(error.value)) return false
  const issue = error.value.issue
  return issue._tag === "Filter" || (issue._tag === "Composite" && issue.issues.every((i) => i._tag === "Filter"))
}

/** a matcher for a schema, with an optional guard */
export const schemaMatcher = <A>(schema: Schema.Schema<A>, guard?: (a: A) => boolean): Matcher => {
  const info = Message.infoOf(schema)
  const isClass = typeof schema === "function" && schema.ast._tag === "Declaration" && "fields" in schema
  return {
    keys: info.keys,
    key: info.keys !== undefined && info.keys.size === 1 ? [...info.keys][0] : undefined,
    test: (entry) => {
      let value: unknown
      if (entry.payload === undefined) {
        // a class instance was validated when it was made: instanceof is the whole check
        if (
          isClass
            ? !(entry.value instanceof (schema as unknown as abstract new (...args: never) => unknown))
            : !info.is(entry.value)
        )
          return NoMatch
        value = entry.value
      } else {
        const decoded = Message.decode(schema, entry.key, entry.payload)
        // a tagged message that does not decode with the schema for its tag is corrupt (or from an
        // incompatible version): it is dropped. A primitive may just fail a refinement or literal,
        // and a tagged one a check of the receiver's own (`Job.check(...)`): they stay, as they
        // would on one node.
        if (Option.isNone(decoded)) {
          return info.keys === undefined || primitiveKeys.has(entry.key) || failsOwnChecks(schema, entry.payload)
            ? NoMatch
            : BadPayload
        }
        value = decoded.value
      }
      return guard === undefined || guard(value as A) ? value : NoMatch
    }
  }
}
