/**
 * Build the package as it is published: JavaScript and type declarations (compiled from src/ by
 * `tsconfig.build.json`), with a package.json whose `exports` and `bin` name them, the README, the
 * LICENSE, and the docs and examples the README links to. Node strips no types from files under node_modules, so an installed package must not
 * be TypeScript; in this repository the sources run as they are.
 *
 *   npm run build                    # into dist/; then `npm publish dist`
 *   node scripts/build.ts OUT_DIR    # into another directory (the package test builds into a temporary project)
 */
import { execFileSync } from "node:child_process"
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const out = path.resolve(process.argv[2] ?? path.join(root, "dist"))

interface Manifest {
  readonly name: string
  readonly version: string
  readonly description: string
  readonly license: string
  readonly type: string
  readonly engines: Record<string, string>
  readonly peerDependencies: Record<string, string>
  readonly bin: Record<string, string>
}

/** `src/x.ts` as the built file next to the package.json of `out` */
const built = (source: string, extension: ".js" | ".d.ts"): string =>
  `./${source.replace(/^\.?\/?src\//, "").replace(/\.ts$/, extension)}`

const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as Manifest

// the output directory is emptied first: refuse one that holds this repository, or anything but an
// earlier build of this package
const inside = path.relative(out, root)
if (inside === "" || !inside.startsWith("..")) {
  throw new Error(`build: ${out} holds this repository; give a directory of its own`)
}
if (existsSync(out) && readdirSync(out).length > 0) {
  const previous = path.join(out, "package.json")
  const earlier = existsSync(previous) ? (JSON.parse(readFileSync(previous, "utf8")) as Partial<Manifest>) : undefined
  if (earlier?.name !== manifest.name || "scripts" in earlier) {
    throw new Error(`build: ${out} is not empty and is not an earlier build of ${manifest.name}`)
  }
}
rmSync(out, { recursive: true, force: true })
const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc")
execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json"), "--outDir", out], {
  stdio: "inherit"
})

const published = {
  name: manifest.name,
  version: manifest.version,
  description: manifest.description,
  license: manifest.license,
  type: manifest.type,
  engines: manifest.engines,
  exports: {
    ".": { types: built("src/index.ts", ".d.ts"), default: built("src/index.ts", ".js") },
    "./*": { types: built("src/*.ts", ".d.ts"), default: built("src/*.ts", ".js") },
    // not modules to import: the library's internals (the worker threads' entry among them) and the command
    "./internal/*": null,
    "./cli/*": null,
    "./package.json": "./package.json"
  },
  peerDependencies: manifest.peerDependencies,
  bin: Object.fromEntries(Object.entries(manifest.bin).map(([name, file]) => [name, built(file, ".js")]))
}
writeFileSync(path.join(out, "package.json"), `${JSON.stringify(published, null, 2)}\n`)
for (const file of ["README.md", "LICENSE"]) copyFileSync(path.join(root, file), path.join(out, file))
// the README's links go to these (the package test follows every link of the installed package)
for (const dir of ["docs", "examples"]) cpSync(path.join(root, dir), path.join(out, dir), { recursive: true })
process.stdout.write(`built ${manifest.name} ${manifest.version} into ${path.relative(process.cwd(), out) || "."}\n`)
