/**
 * Generates docs/api.md from the doc comments of the public modules (those `src/index.ts`
 * re-exports). `node scripts/api.ts` writes it; `node scripts/api.ts --check` fails if it is stale
 * (CI runs the check through test/docs.test.ts).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

interface Entry {
  readonly name: string
  readonly kind: string
  readonly doc: string
}

/** the first paragraph of a doc comment, without tags and examples */
const summary = (comment: string): string => {
  const lines = comment
    .replace(/^\/\*\*|\*\/$/g, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, ""))
  const out: Array<string> = []
  for (const line of lines) {
    if (line.startsWith("@") || line.startsWith("```")) break
    out.push(line)
  }
  return out.join(" ").replace(/\s+/g, " ").trim()
}

const entriesOf = (source: string): Array<Entry> => {
  const entries: Array<Entry> = []
  const re =
    /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)\s*export\s+(?:declare\s+)?(const|class|interface|type|function\*?|let)\s+([A-Za-z0-9_$]+)/g
  for (const m of source.matchAll(re)) {
    const doc = summary(m[1]!)
    if (m[1]!.includes("@internal")) continue
    entries.push({ name: m[3]!, kind: m[2]!.replace("function*", "function"), doc })
  }
  return entries
}

const moduleDoc = (source: string): string => {
  const m = /^\/\*\*([\s\S]*?)\*\//.exec(source)
  return m === null ? "" : summary(`/**${m[1]}*/`)
}

export const generate = (): string => {
  const index = fs.readFileSync(path.join(root, "src/index.ts"), "utf8")
  const modules = [...index.matchAll(/export \* as (\w+) from "\.\/(.+?)"/g)].map((m) => [m[1]!, m[2]!] as const)
  const parts: Array<string> = [
    "# API reference",
    "",
    "Generated from the doc comments by `node scripts/api.ts` (CI checks it is current). Each module is",
    'a namespace of `cloud-effect`: `import { Process } from "cloud-effect"`. The module files have runnable',
    "examples at their top.",
    ""
  ]
  for (const [name, file] of modules.sort((a, b) => a[0].localeCompare(b[0]))) {
    const source = fs.readFileSync(path.join(root, "src", file), "utf8")
    parts.push(`## ${name}`, "", `\`src/${file}\`: ${moduleDoc(source)}`, "")
    for (const e of entriesOf(source)) parts.push(`- \`${name}.${e.name}\` (${e.kind}): ${e.doc}`)
    parts.push("")
  }
  return parts.join("\n")
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = path.join(root, "docs/api.md")
  const text = generate()
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : ""
    if (current !== text) {
      process.stderr.write("docs/api.md is stale: run `node scripts/api.ts`\n")
      process.exit(1)
    }
  } else {
    fs.writeFileSync(target, text)
  }
}
