/**
 * Why a process died, and the notifications that monitors and links deliver. All of it is Schema
 * data, so it crosses nodes like any other message.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Notification, Process, type ProcessId } from "cloud-effect"
 * const watch = (pid: ProcessId.ProcessId) => Effect.gen(function*() {
 *   yield* Process.monitor(pid)
 *   const n = yield* Process.expect(Notification.ProcessMonitorNotification)
 *   return n.reason._tag // "DiedNormal" | "DiedException" | ...
 * })
 * ```
 * @since 0.1.0
 */
import { Schema } from "effect"
import { NodeId } from "./NodeId.ts"
import { ProcessId } from "./ProcessId.ts"

/** The process ended normally (its effect succeeded). @since 0.1.0 */
export class DiedNormal extends Schema.TaggedClass<DiedNormal>()("DiedNormal", {}) {}

/** The process failed, died, was killed, or was terminated by an exit signal. @since 0.1.0 */
export class DiedException extends Schema.TaggedClass<DiedException>()("DiedException", { error: Schema.String }) {}

/** The connection to the process's node was lost; the process may still be alive. @since 0.1.0 */
export class DiedDisconnect extends Schema.TaggedClass<DiedDisconnect>()("DiedDisconnect", {}) {}

/** The process's node was shut down. @since 0.1.0 */
export class DiedNodeDown extends Schema.TaggedClass<DiedNodeDown>()("DiedNodeDown", {}) {}

/** The process was unknown (or already dead) when it was monitored or linked. @since 0.1.0 */
export class DiedUnknownId extends Schema.TaggedClass<DiedUnknownId>()("DiedUnknownId", {}) {}

/**
 * Why a process died.
 * @since 0.1.0
 */
export const DiedReason = Schema.Union([DiedNormal, DiedException, DiedDisconnect, DiedNodeDown, DiedUnknownId])
/** @since 0.1.0 */
export type DiedReason = typeof DiedReason.Type

/** The shared `DiedNormal` (the reasons without fields have one instance each). @since 0.1.0 */
export const diedNormal: DiedReason = new DiedNormal()
/** The shared `DiedDisconnect`. @since 0.1.0 */
export const diedDisconnect: DiedReason = new DiedDisconnect()
/** The shared `DiedNodeDown`. @since 0.1.0 */
export const diedNodeDown: DiedReason = new DiedNodeDown()
/** The shared `DiedUnknownId`. @since 0.1.0 */
export const diedUnknownId: DiedReason = new DiedUnknownId()

/**
 * Identifies one monitor: the monitoring process and a counter unique within it.
 * @since 0.1.0
 */
export class MonitorRef extends Schema.TaggedClass<MonitorRef>()("MonitorRef", {
  watcher: ProcessId,
  id: Schema.Int
}) {
  override toString(): string {
    return `MonitorRef(${this.watcher}#${this.id})`
  }
}

/**
 * Delivered exactly once to the mailbox of a process that monitored `pid`, when `pid` dies.
 * @since 0.1.0
 */
export class ProcessMonitorNotification extends Schema.TaggedClass<ProcessMonitorNotification>()(
  "ProcessMonitorNotification",
  { ref: MonitorRef, pid: ProcessId, reason: DiedReason }
) {}

/**
 * Delivered to the mailbox of a process that monitored a node, when the node goes down or the
 * connection to it is lost.
 * @since 0.1.0
 */
export class NodeMonitorNotification extends Schema.TaggedClass<NodeMonitorNotification>()("NodeMonitorNotification", {
  ref: MonitorRef,
  node: NodeId,
  reason: DiedReason
}) {}

/**
 * The failure a linked process dies with when the process it linked to terminates (for any
 * reason, normal termination included).
 * @since 0.1.0
 */
export class ProcessLinkException extends Schema.TaggedError<ProcessLinkException>()("ProcessLinkException", {
  pid: ProcessId,
  reason: DiedReason
}) {
  override get message(): string {
    return `linked process ${this.pid} died: ${this.reason._tag}${
      this.reason._tag === "DiedException" ? ` (${this.reason.error})` : ""
    }`
  }
}

/**
 * The failure a process dies with when a node it linked to goes down or disconnects.
 * @since 0.1.0
 */
export class NodeLinkException extends Schema.TaggedError<NodeLinkException>()("NodeLinkException", {
  node: NodeId,
  reason: DiedReason
}) {
  override get message(): string {
    return `linked node ${this.node} is down: ${this.reason._tag}`
  }
}
