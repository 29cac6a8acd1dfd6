/**
 * A synchronous task's function is compiled by V8 on its own, not inlined into the slaves' batch
 * loop. The batch loop runs once per batch, too rarely to reach V8's top tier (Turbofan), and V8
 * does not move Maglev code to Turbofan in the middle of a loop: a task inlined there ran at the mid
 * tier's speed for the whole job (the `primes` benchmark's slaves used 8-10 % more CPU than Piscina's
 * threads on the same function). The check runs in a child process with `--allow-natives-syntax`.
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
