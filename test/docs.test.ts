/**
 * The docs stay true: docs/api.md is generated from the current doc comments, every code block
 * marked `<!-- include: file.ts -->` in the README and docs/ is byte-identical to that file (which tsc checks), and
 * every `@example` of a doc comment in src/ type-checks.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { generate } from "../scripts/api.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc")

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith(".ts") ? [p] : []
  })

interface Example {
  /** the source file whose doc comment holds it, and the example's number in that file */
  readonly source: string
  readonly index: number
  /** its files: one, or several marked by a `// name.ts` line each (the first line) */
  readonly files: ReadonlyArray<{ readonly name: string; readonly text: string }>
}

/** the ```ts blocks after `@example` in the doc comments of `source` */
const examplesOf = (source: string): Array<Example> => {
  const text = fs.readFileSync(source, "utf8")
  const blocks = [...text.matchAll(/\/\*\*[\s\S]*?\*\//g)].flatMap((comment) =>
    [...comment[0].matchAll(/@example\s*\n\s*\*\s*```ts\n([\s\S]*?)\n\s*\*\s*```/g)].map((m) =>
      m[1]!
        .split("\n")
        .map((line) => line.replace(/^\s*\* ?/, ""))
        .join("\n")
    )
  )
  return blocks.map((block, index) => {
    const marker = /^\/\/ ([\w.-]+\.ts)$/
    const lines = block.split("\n")
    if (!marker.test(lines[0]!)) return { source, index, files: [{ name: "example.ts", text: block }] }
    const files: Array<{ name: string; lines: Array<string> }> = []
    for (const line of lines) {
      const m = marker.exec(line)
      if (m !== null) files.push({ name: m[1]!, lines: [] })
      else files[files.length - 1]!.lines.push(line)
    }
    return { source, index, files: files.map((f) => ({ name: f.name, text: f.lines.join("\n") })) }
  })
}

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
    for (const file of [path.join(root, "README.md"), ...markdownFiles(path.join(root, "docs"))]) {
      const text = fs.readFileSync(file, "utf8")
      for (const m of text.matchAll(/<!-- include: (\S+) -->\s*```ts\n([\s\S]*?)```/g)) {
        const included = path.resolve(path.dirname(file), m[1]!)
        assert.isTrue(fs.existsSync(included), `${path.relative(root, file)} includes a missing ${m[1]}`)
        assert.strictEqual(m[2], fs.readFileSync(included, "utf8"), `${path.relative(root, file)}: ${m[1]} differs`)
        checked++
      }
    }
    // the README, the guide and the seven recipes quote their code: the check must see them all
    assert.isAtLeast(checked, 13)
  })

  it("every @example in the doc comments type-checks", () => {
    const examples = sourceFiles(path.join(root, "src")).flatMap(examplesOf)
    // one per module at least, as the style asks: the check must see them all
    assert.isAtLeast(examples.length, 25)
    // inside the repository, so that `cloud-effect` (the package itself) and `effect` resolve
    const dir = fs.mkdtempSync(path.join(root, ".doc-examples-"))
    try {
      const dirOf = (example: Example) =>
        path.join(dir, `${path.relative(root, example.source).replace(/[/\\.]/g, "_")}_${example.index}`)
      for (const example of examples) {
        const own = dirOf(example)
        fs.mkdirSync(own)
        const names = new Set(example.files.map((f) => f.name))
        for (const file of example.files) {
          // a relative import of a module of the library (an internal module's example) is resolved
          // from the source file; one of the example's own files stays as it is
          const text = file.text.replace(/(from\s+")(\.\.?\/[^"]+)"/g, (all, from: string, specifier: string) => {
            if (names.has(path.normalize(specifier))) return all
            const target = path.resolve(path.dirname(example.source), specifier)
            return `${from}${path.relative(own, target).split(path.sep).join("/")}"`
          })
          fs.writeFileSync(path.join(own, file.name), `${text}\n`)
        }
      }
      fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({
          extends: "../tsconfig.json",
          // an example may show a value without using it
          compilerOptions: { noUnusedLocals: false },
          include: ["**/*.ts"]
        })
      )
      const run = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" })
      const report = `${run.stdout}${run.stderr}`.split(path.basename(dir) + path.sep).join("")
      assert.strictEqual(run.status, 0, `the doc comments' examples do not type-check:\n${report}`)
      // and an example that runs its program (its last file does) runs to its end
      let ran = 0
      for (const example of examples) {
        const main = example.files[example.files.length - 1]!
        if (!/\b(runPromise|runMain)\(/.test(main.text)) continue
        const file = path.join(dirOf(example), main.name)
        const exec = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 30_000 })
        assert.strictEqual(
          exec.status,
          0,
          `${path.relative(dir, file)}: exit ${exec.status}\n${exec.stdout}${exec.stderr}`
        )
        ran++
      }
      assert.isAtLeast(ran, 2)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)
})
