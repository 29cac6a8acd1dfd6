/**
 * The docs stay true: docs/api.md is generated from the current doc comments, and every code block
 * marked `<!-- include: file.ts -->` in docs/ is byte-identical to that file (which tsc checks).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { generate } from "../scripts/api.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const markdownFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? markdownFiles(p) : e.name.endsWith(".md") ? [p] : []
  })

describe("docs", () => {
  it("docs/api.md is generated from the current doc comments (run `npm run docs`)", () => {
    assert.strictEqual(fs.readFileSync(path.join(root, "docs/api.md"), "utf8"), generate())
  })

  it("every included code block is identical to its type-checked file", () => {
    let checked = 0
    for (const file of markdownFiles(path.join(root, "docs"))) {
      const text = fs.readFileSync(file, "utf8")
      for (const m of text.matchAll(/<!-- include: (\S+) -->\s*```ts\n([\s\S]*?)```/g)) {
        const included = path.resolve(path.dirname(file), m[1]!)
        assert.isTrue(fs.existsSync(included), `${path.relative(root, file)} includes a missing ${m[1]}`)
        assert.strictEqual(m[2], fs.readFileSync(included, "utf8"), `${path.relative(root, file)}: ${m[1]} differs`)
        checked++
      }
    }
    // the guide and the seven recipes quote their code: the check must see them all
    assert.isAtLeast(checked, 12)
  })
})
