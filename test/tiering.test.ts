/**
 * A synchronous task's function is compiled by V8 on its own, not inlined into the slaves' batch
 * loop. Inlined into that loop's Maglev code (V8's mid tier), the task's own loops could not be
 * replaced while they ran (on-stack replacement targets only the outer function's loops), and the
 * batch loop, entered once per batch, runs too rarely to be recompiled by Turbofan: the task ran at
 * the mid tier's speed for the whole job (a `primes` work-stealing job took 2,822 ms against 2,570
 * with inlining turned off). The check runs in a child process with `--allow-natives-syntax` and no
 * NODE_OPTIONS. It depends on V8's tiering as in the pinned Node 24.21 (V8 13.6): look at it again
 * when Node is upgraded.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const fixture = fileURLToPath(new URL("./fixtures/tiering.ts", import.meta.url))

describe("sync tasks and V8's tiers", () => {
  it("primesRange's function reaches Turbofan on work-stealing slaves", () => {
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    const child = spawnSync(process.execPath, ["--allow-natives-syntax", fixture], {
      encoding: "utf8",
      env,
      timeout: 25_000
    })
    assert.strictEqual(child.status, 0, `${child.stderr} (signal ${child.signal}, ${child.error})`)
    const result = JSON.parse(child.stdout) as { sum: number; status: number; turbofan: boolean }
    assert.strictEqual(result.sum, 343614)
    assert.isTrue(result.turbofan, `sumPrimeFactors is not Turbofan code (V8 status ${result.status})`)
  })
})
