/**
 * The failure model of docs/guide.md: monitors deliver a notification, links kill, exit signals
 * can be caught, kill cannot, and `runProcess` reports how a process died.
 *
 * Run: npx -c 'node docs/guide/failures.ts'
 */
import { NodeRuntime } from "@effect/platform-node"
import { Node, Notification, Process } from "cloud-effect"
import { Console, Effect, Schema } from "effect"

class Stop extends Schema.TaggedClass<Stop>()("guide/Stop", { why: Schema.String }) {}
class Never extends Schema.TaggedClass<Never>()("guide/Never", {}) {}

/** wait for the notification of one monitor and describe the death it reports */
const deathOf = (ref: Notification.MonitorRef) =>
  Process.receiveWait(
    Process.matchIf(
      Notification.ProcessMonitorNotification,
      (n) => n.ref.id === ref.id,
      (n) => Effect.succeed(n.reason._tag === "DiedException" ? `DiedException (${n.reason.error})` : n.reason._tag)
    )
  )

const main = Effect.gen(function* () {
  const me = yield* Process.self

  // a monitor: one ProcessMonitorNotification, whatever the reason (normal exit included)
  const [quick, quickRef] = yield* Process.spawnMonitor(Effect.void)
  yield* Console.log(`monitor, normal exit:    ${yield* deathOf(quickRef)}`)
  const [, failingRef] = yield* Process.spawnMonitor(Effect.fail("boom"))
  yield* Console.log(`monitor, failure:        ${yield* deathOf(failingRef)}`)
  const unknownRef = yield* Process.monitor(quick) // already dead
  yield* Console.log(`monitor, dead pid:       ${yield* deathOf(unknownRef)}`)

  // a link: one-way; the linking process dies when the target ends, for any reason
  const target = yield* Process.spawnLocal(Process.expect(Stop))
  const [, linkerRef] = yield* Process.spawnMonitor(
    Effect.gen(function* () {
      yield* Process.link(target)
      yield* Process.send(me, "linked")
      yield* Process.expect(Never)
    }).pipe(Effect.ensuring(Process.send(me, "the linker's finalizers ran")))
  )
  yield* Process.expect(Schema.Literal("linked"))
  yield* Process.send(target, new Stop({ why: "finished" }))
  yield* Console.log(`link, target ended:      ${yield* deathOf(linkerRef)}`)
  yield* Console.log(`                         ${yield* Process.expect(Schema.String)}`)

  // exit signals: caught by a catchExit whose schema accepts the reason; kill is never caught
  const waitForever = Effect.andThen(Process.send(me, "ready"), Process.expect(Never))
  const stoppable = yield* Process.spawnLocal(
    Effect.flatMap(
      Process.catchExit(Effect.as(waitForever, "finished"), Stop, (_from, stop) =>
        Effect.succeed(`caught Stop: ${stop.why}`)
      ),
      (outcome) => Process.send(me, outcome)
    )
  )
  yield* Process.expect(Schema.Literal("ready"))
  yield* Process.exit(stoppable, new Stop({ why: "please" }))
  yield* Console.log(`exit, caught:            ${yield* Process.expect(Schema.String)}`)
  const [victim, victimRef] = yield* Process.spawnMonitor(
    Process.catchExit(waitForever, Schema.String, () => Effect.void)
  )
  yield* Process.expect(Schema.Literal("ready"))
  yield* Process.kill(victim, "no appeal")
  yield* Console.log(`kill:                    ${yield* deathOf(victimRef)}`)
})

// runProcess: the process's result, its own typed error, or ProcessDied when it was stopped
const program = Effect.gen(function* () {
  yield* Node.runProcess(main)
  const failed = yield* Effect.flip(Node.runProcess(Effect.fail(new Stop({ why: "a typed error" }))))
  yield* Console.log(`runProcess, failure:     ${failed._tag}`)
  const died = yield* Effect.flip(Node.runProcess(Effect.flatMap(Process.self, (self) => Process.kill(self, "stop"))))
  yield* Console.log(`runProcess, killed:      ${died._tag}`)
})

program.pipe(Effect.provide(Node.layer()), NodeRuntime.runMain)
