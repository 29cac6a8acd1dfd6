/**
 * Generates docs/api.md from the public modules (those `src/index.ts` re-exports as namespaces):
 * every name a module exports, its own or re-exported (`export { X } from`, `export { X as Y }`,
 * `export * from`), with its signature as written in the source declaration and the doc comment
 * from where it is defined. `node scripts/api.ts` writes it; `node scripts/api.ts --check` fails if
 * it is stale (CI runs the check through test/docs.test.ts); `node scripts/api.ts --missing` lists
 * the public names whose doc comment has no text.
 *
 * The source is read with a small tokenizer (strings, templates, comments, regexes, brackets), not
 * the compiler: the signatures are the source text (parameters, defaults and return types as
 * written, in the source's own line breaks), which reads better than the checker's expanded types,
 * and the generator stays synchronous and fast enough for the test.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

// -----------------------------------------------------------------------------------------------
// tokens

interface Token {
  /** id (identifiers and keywords), str, tpl (template), num, re (regex) or p (punctuation) */
  readonly k: "id" | "str" | "tpl" | "num" | "re" | "p"
  readonly t: string
  readonly s: number
  readonly e: number
}

interface Comment {
  readonly s: number
  readonly e: number
  readonly text: string
}

const regexAfterKeyword = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "void",
  "throw",
  "yield"
])
const puncts = ["...", "===", "!==", "=>", "?.", "==", "!=", "&&", "||", "??", "**"]

const tokenize = (src: string): { tokens: Array<Token>; comments: Array<Comment> } => {
  const tokens: Array<Token> = []
  const comments: Array<Comment> = []
  const n = src.length
  const skipString = (j: number, quote: string): number => {
    j++
    while (j < n && src[j] !== quote) j += src[j] === "\\" ? 2 : 1
    return j + 1
  }
  // the code of a `${...}` (from after the `{`), to after its `}`
  const skipCode = (j: number): number => {
    let depth = 1
    while (j < n) {
      const c = src[j]!
      if (c === '"' || c === "'") j = skipString(j, c)
      else if (c === "`") j = skipTemplate(j)
      else if (c === "/" && src[j + 1] === "/") j = src.indexOf("\n", j) === -1 ? n : src.indexOf("\n", j)
      else if (c === "/" && src[j + 1] === "*") j = src.indexOf("*/", j + 2) + 2
      else {
        if (c === "{") depth++
        else if (c === "}" && --depth === 0) return j + 1
        j++
      }
    }
    return j
  }
  const skipTemplate = (j: number): number => {
    j++
    while (j < n && src[j] !== "`") {
      if (src[j] === "\\") j += 2
      else if (src[j] === "$" && src[j + 1] === "{") j = skipCode(j + 2)
      else j++
    }
    return j + 1
  }
  const regexAllowed = (): boolean => {
    const p = tokens.at(-1)
    if (p === undefined) return true
    if (p.k === "p") return p.t !== ")" && p.t !== "]" && p.t !== "}"
    return p.k === "id" && regexAfterKeyword.has(p.t)
  }
  const push = (k: Token["k"], s: number, e: number) => tokens.push({ k, t: src.slice(s, e), s, e })
  let i = 0
  while (i < n) {
    const c = src[i]!
    if (/\s/.test(c)) {
      i++
    } else if (c === "/" && src[i + 1] === "/") {
      const j = src.indexOf("\n", i)
      i = j === -1 ? n : j
    } else if (c === "/" && src[i + 1] === "*") {
      const j = src.indexOf("*/", i + 2) + 2
      comments.push({ s: i, e: j, text: src.slice(i, j) })
      i = j
    } else if (c === '"' || c === "'") {
      const j = skipString(i, c)
      push("str", i, j)
      i = j
    } else if (c === "`") {
      const j = skipTemplate(i)
      push("tpl", i, j)
      i = j
    } else if (/[0-9]/.test(c)) {
      const j = i + /^[0-9][0-9A-Za-z_.]*/.exec(src.slice(i, i + 64))![0].length
      push("num", i, j)
      i = j
    } else if (/[A-Za-z_$#\u0080-\uffff]/.test(c)) {
      let j = i + 1
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(src[j]!)) j++
      push("id", i, j)
      i = j
    } else if (c === "/" && regexAllowed()) {
      let j = i + 1
      let inClass = false
      while (j < n && (inClass || src[j] !== "/") && src[j] !== "\n") {
        if (src[j] === "\\") j++
        else if (src[j] === "[") inClass = true
        else if (src[j] === "]") inClass = false
        j++
      }
      j++
      while (j < n && /[a-z]/.test(src[j]!)) j++
      push("re", i, j)
      i = j
    } else {
      const p = puncts.find((p) => src.startsWith(p, i)) ?? c
      push("p", i, i + p.length)
      i += p.length
    }
  }
  return { tokens, comments }
}

const opens = new Set(["(", "[", "{"])
const closes = new Set([")", "]", "}"])

/** the index of the token that closes the bracket at `i` (`<>` count as brackets if `angles`) */
const matchClose = (ts: ReadonlyArray<Token>, i: number, angles: boolean): number => {
  let depth = 0
  for (let j = i; j < ts.length; j++) {
    const t = ts[j]!.t
    if (opens.has(t) || (angles && t === "<")) depth++
    else if (closes.has(t) || (angles && t === ">")) {
      if (--depth === 0) return j
    }
  }
  return ts.length - 1
}

// -----------------------------------------------------------------------------------------------
// statements and declarations

interface SourceFile {
  readonly file: string
  readonly src: string
  readonly tokens: ReadonlyArray<Token>
  readonly comments: ReadonlyArray<Comment>
}

/** a top-level statement: tokens `[from, to]` */
interface Statement {
  readonly from: number
  readonly to: number
}

const lineStart = (src: string, pos: number): number => src.lastIndexOf("\n", pos - 1) + 1

const firstOnLine = (src: string, pos: number): boolean => src.slice(lineStart(src, pos), pos).trim() === ""

/** the doc comment right before `pos` (only white space between), if any */
const docBefore = (sf: SourceFile, pos: number): Comment | undefined => {
  let found: Comment | undefined
  for (const c of sf.comments) {
    if (c.e > pos) break
    found = c
  }
  return found?.text.startsWith("/**") && sf.src.slice(found.e, pos).trim() === "" ? found : undefined
}

/**
 * Top-level statements: a statement ends at a `;`, or before a token that starts a line at column 0
 * and is a word (biome formats continuation lines indented, or starting with an operator or closer).
 */
const statementsOf = (sf: SourceFile): Array<Statement> => {
  const out: Array<Statement> = []
  let depth = 0
  let from = 0
  const ts = sf.tokens
  for (let i = 0; i < ts.length; i++) {
    const tok = ts[i]!
    if (
      i > from &&
      depth === 0 &&
      tok.k === "id" &&
      lineStart(sf.src, tok.s) === tok.s &&
      ts[i - 1]!.t !== "=" &&
      ts[i - 1]!.t !== "=>"
    ) {
      out.push({ from, to: i - 1 })
      from = i
    }
    if (opens.has(tok.t)) depth++
    else if (closes.has(tok.t)) depth = Math.max(0, depth - 1)
    else if (tok.t === ";" && depth === 0) {
      if (i > from) out.push({ from, to: i - 1 })
      from = i + 1
    }
  }
  if (from < ts.length) out.push({ from, to: ts.length - 1 })
  return out
}

interface Decl {
  readonly sf: SourceFile
  readonly name: string
  /** const, let, function, class, interface, type, enum or namespace */
  readonly kind: string
  readonly stmt: Statement
  /** the index of the declaration's keyword */
  readonly at: number
  readonly doc: Comment | undefined
}

type Export =
  | { readonly _tag: "decl"; readonly decl: Decl }
  | {
      readonly _tag: "spec"
      readonly exported: string
      readonly local: string
      readonly from: string | undefined
      readonly doc: Comment | undefined
    }
  | { readonly _tag: "star"; readonly from: string; readonly as: string | undefined; readonly doc: Comment | undefined }

interface Module {
  readonly sf: SourceFile
  readonly decls: Map<string, Array<Decl>>
  /** local name → the module it comes from ("" for a package) and its name there ("*" for a namespace) */
  readonly imports: Map<string, { readonly from: string; readonly name: string }>
  readonly exports: Array<Export>
}

const declKeywords = new Set(["const", "let", "var", "function", "class", "interface", "type", "enum", "namespace"])

const modules = new Map<string, Module>()

const resolvePath = (fromFile: string, spec: string): string =>
  spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec) : ""

const unquote = (t: string): string => t.slice(1, -1)

/** `{ a, type b as c, ... }` from token `i` (the `{`): the specifiers and their doc comments */
const specifiersOf = (
  sf: SourceFile,
  i: number
): { readonly specs: Array<{ local: string; exported: string; doc: Comment | undefined }>; readonly end: number } => {
  const ts = sf.tokens
  const end = matchClose(ts, i, false)
  const specs: Array<{ local: string; exported: string; doc: Comment | undefined }> = []
  let j = i + 1
  while (j < end) {
    const doc = docBefore(sf, ts[j]!.s)
    if (ts[j]!.t === "type" && ts[j + 1]!.k === "id" && ts[j + 1]!.t !== "as") j++
    const local = ts[j]!.t
    let exported = local
    j++
    if (ts[j]!.t === "as") {
      exported = ts[j + 1]!.t
      j += 2
    }
    specs.push({ local, exported, doc })
    if (ts[j]!.t === ",") j++
  }
  return { specs, end }
}

const load = (file: string): Module => {
  const cached = modules.get(file)
  if (cached !== undefined) return cached
  const src = fs.readFileSync(file, "utf8")
  const sf: SourceFile = { file, src, ...tokenize(src) }
  const module: Module = { sf, decls: new Map(), imports: new Map(), exports: [] }
  modules.set(file, module)
  const ts = sf.tokens
  for (const stmt of statementsOf(sf)) {
    let i = stmt.from
    const first = ts[i]!
    if (first.t === "import") {
      const fromAt = ts.findIndex((t, j) => j > i && j <= stmt.to && t.t === "from")
      if (fromAt === -1) continue
      const from = resolvePath(file, unquote(ts[fromAt + 1]!.t))
      i++
      if (ts[i]!.t === "type") i++
      if (ts[i]!.k === "id" && ts[i]!.t !== "from") {
        module.imports.set(ts[i]!.t, { from, name: "default" })
        i++
        if (ts[i]!.t === ",") i++
      }
      if (ts[i]!.t === "*") module.imports.set(ts[i + 2]!.t, { from, name: "*" })
      else if (ts[i]!.t === "{") {
        for (const s of specifiersOf(sf, i).specs) module.imports.set(s.exported, { from, name: s.local })
      }
      continue
    }
    const exported = first.t === "export"
    const doc = docBefore(sf, first.s)
    if (exported) {
      i++
      if (ts[i]!.t === "*") {
        const as = ts[i + 1]!.t === "as" ? ts[i + 2]!.t : undefined
        const fromTok = ts[as === undefined ? i + 2 : i + 4]!
        module.exports.push({ _tag: "star", from: resolvePath(file, unquote(fromTok.t)), as, doc })
        continue
      }
      if (ts[i]!.t === "type" && ts[i + 1]!.t === "{") i++
      if (ts[i]!.t === "{") {
        const { specs, end } = specifiersOf(sf, i)
        const from =
          ts[end + 1]?.t === "from" && end + 1 <= stmt.to ? resolvePath(file, unquote(ts[end + 2]!.t)) : undefined
        for (const s of specs) {
          // the statement's comment documents it if it is alone
          const d = s.doc ?? (specs.length === 1 ? doc : undefined)
          module.exports.push({ _tag: "spec", exported: s.exported, local: s.local, from, doc: d })
        }
        continue
      }
    }
    while (ts[i]!.t === "declare" || ts[i]!.t === "abstract" || ts[i]!.t === "async") i++
    if (!declKeywords.has(ts[i]!.t)) continue
    const at = i
    const kind = ts[i]!.t === "var" ? "let" : ts[i]!.t
    i++
    if (ts[i]!.t === "*") i++
    if (ts[i]!.k !== "id") continue
    const decl: Decl = { sf, name: ts[i]!.t, kind, stmt, at, doc }
    module.decls.set(decl.name, [...(module.decls.get(decl.name) ?? []), decl])
    if (exported) module.exports.push({ _tag: "decl", decl })
  }
  return module
}

/** where `name`, as seen in `file`, is declared (several declarations when merged) */
const resolve = (file: string, name: string, seen: Set<string> = new Set()): Array<Decl> => {
  const key = `${file}#${name}`
  if (file === "" || seen.has(key)) return []
  seen.add(key)
  const module = load(file)
  const local = module.decls.get(name)
  if (local !== undefined) return local
  const imported = module.imports.get(name)
  if (imported !== undefined) return resolve(imported.from, imported.name, seen)
  for (const e of module.exports) {
    if (e._tag === "spec" && e.exported === name) {
      return e.from === undefined ? resolve(file, e.local, seen) : resolve(e.from, e.local, seen)
    }
  }
  for (const e of module.exports) {
    if (e._tag === "star" && e.as === undefined) {
      const found = resolve(e.from, name, seen)
      if (found.length > 0) return found
    }
  }
  return []
}

// -----------------------------------------------------------------------------------------------
// doc comments

interface Doc {
  readonly description: string
  readonly tags: ReadonlyArray<{ readonly tag: string; readonly text: string }>
}

const parseDoc = (comment: Comment | undefined): Doc => {
  if (comment === undefined) return { description: "", tags: [] }
  const lines = comment.text
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, "").trimEnd())
  const description: Array<string> = []
  const tags: Array<{ tag: string; lines: Array<string> }> = []
  let fenced = false
  // a block tag starts a line, or ends one (`/** Text. @since 0.1.0 */`)
  const split = lines.flatMap((l) => (l.trimStart().startsWith("```") ? [l] : l.split(/\s+(?=@(?:since|internal)\b)/)))
  for (const line of split) {
    const tag = fenced ? null : /^\s*@(\w+)\s?(.*)$/.exec(line)
    if (tag !== null) tags.push({ tag: tag[1]!, lines: [tag[2]!] })
    else (tags.at(-1)?.lines ?? description).push(line)
    if (line.trimStart().startsWith("```")) fenced = !fenced
  }
  return {
    description: description.join("\n").trim(),
    tags: tags.map((t) => ({ tag: t.tag, text: t.lines.join("\n").trim() }))
  }
}

const tagOf = (doc: Doc, tag: string): string | undefined => doc.tags.find((t) => t.tag === tag)?.text

const isInternal = (comment: Comment | undefined): boolean => parseDoc(comment).tags.some((t) => t.tag === "internal")

// -----------------------------------------------------------------------------------------------
// signatures

/** the source from `s` to `e` (with the `replaced` ranges replaced), the lines after the first dedented as much as the first one is indented */
const sourceText = (
  src: string,
  s: number,
  e: number,
  replaced: ReadonlyArray<readonly [number, number, string]> = []
): string => {
  let text = ""
  let at = s
  for (const [rs, re, by] of replaced) {
    text += src.slice(at, rs) + by
    at = re
  }
  text += src.slice(at, e)
  const column = /^ */.exec(src.slice(lineStart(src, s)))![0].length
  return text
    .split("\n")
    .map((l, i) => (i === 0 ? l : l.slice(Math.min(column, /^ */.exec(l)![0].length))))
    .join("\n")
    .trimEnd()
}

/** tokens a `{` follows when it opens an object type, not a body */
const beforeTypeLiteral = new Set([":", "|", "&", ",", "=>", "<", "(", "[", "=", "keyof", "readonly"])

/** the index of the `{` that opens the body of a function or class whose header starts at `i` */
const bodyStart = (ts: ReadonlyArray<Token>, i: number, to: number): number => {
  for (let j = i; j <= to; j++) {
    const t = ts[j]!.t
    if (t === "{" && !beforeTypeLiteral.has(ts[j - 1]!.t)) return j
    if (opens.has(t) || t === "<") j = matchClose(ts, j, true)
  }
  return to + 1
}

/** the end (exclusive token index) of the return type that starts at `i`: the `=>` of the arrow */
const arrowAt = (ts: ReadonlyArray<Token>, i: number, to: number): number => {
  let typeStart = true
  for (let j = i; j <= to; j++) {
    const t = ts[j]!.t
    if (t === "=>") return j
    if (t === "(" && typeStart) {
      const close = matchClose(ts, j, false)
      // a function type: `(x: A) => B`
      if (ts[close + 1]?.t === "=>") {
        j = close + 1
        continue
      }
    }
    typeStart = t === "|" || t === "&" || t === ":"
    if (opens.has(t) || t === "<") j = matchClose(ts, j, true)
  }
  return -1
}

/**
 * The members of the body `{ ... }` at `open`: for each, its first token and its doc comment, and
 * where it ends (the next member, or the closing brace).
 */
const membersOf = (
  sf: SourceFile,
  open: number
): Array<{ readonly from: number; readonly end: number; readonly doc: Comment | undefined }> => {
  const ts = sf.tokens
  const close = matchClose(ts, open, false)
  const starts: Array<number> = []
  for (let j = open + 1; j < close; j++) {
    const tok = ts[j]!
    if ((tok.k === "id" || tok.k === "str" || tok.t === "[") && firstOnLine(sf.src, tok.s)) starts.push(j)
    if (opens.has(tok.t) || tok.t === "<") j = matchClose(ts, j, tok.t === "<")
  }
  return starts.map((from, k) => ({ from, end: starts[k + 1] ?? close, doc: docBefore(sf, ts[from]!.s) }))
}

/** the source ranges of the `@internal` members of the body at `open` (whole lines, with their comments) */
const internalMembers = (sf: SourceFile, open: number): Array<readonly [number, number, string]> =>
  membersOf(sf, open)
    .filter((m) => isInternal(m.doc))
    .map((m) => [lineStart(sf.src, m.doc!.s), lineStart(sf.src, sf.tokens[m.end]!.s), ""] as const)

/** the public members of a class body, as signatures (no bodies, no initializers) */
const classMembers = (sf: SourceFile, open: number): Array<string> => {
  const ts = sf.tokens
  const out: Array<string> = []
  for (const m of membersOf(sf, open)) {
    const first = ts[m.from]!.t
    if (isInternal(m.doc) || first === "private" || first === "protected" || first === "override") continue
    if (first.startsWith("#")) continue
    let end = m.end - 1
    for (let j = m.from; j < m.end; j++) {
      const t = ts[j]!.t
      if (t === "=" || (t === "{" && !beforeTypeLiteral.has(ts[j - 1]!.t))) {
        end = j - 1
        break
      }
      if (opens.has(t) || t === "<") j = matchClose(ts, j, true)
    }
    out.push(sourceText(sf.src, ts[m.from]!.s, ts[end]!.e))
  }
  return out
}

/** the kinds whose signature shows the name they are exported as */
const renames = new Set(["function", "const", "let"])

/** the signature of a declaration, from its source text (a function's under the name it is exported as) */
const signatureOf = (decl: Decl, name: string): string => {
  const { sf, stmt } = decl
  const ts = sf.tokens
  const src = sf.src
  const text = (from: number, to: number) => sourceText(src, ts[from]!.s, ts[to]!.e)
  const nameAt = ts[decl.at + 1]!.t === "*" ? decl.at + 2 : decl.at + 1
  // the declaration's text from its keyword to token `to`, under the exported name
  const renamed = (to: number) => sourceText(src, ts[decl.at]!.s, ts[to]!.e, [[ts[nameAt]!.s, ts[nameAt]!.e, name]])
  switch (decl.kind) {
    case "function": {
      return renamed(bodyStart(ts, nameAt, stmt.to) - 1)
    }
    case "class": {
      const open = bodyStart(ts, nameAt, stmt.to)
      const header = text(decl.at, open - 1)
      if (open > stmt.to) return header
      const members = classMembers(sf, open)
      return members.length === 0
        ? header
        : `${header} {\n${members.map((m) => `  ${m.replace(/\n/g, "\n  ")}`).join("\n")}\n}`
    }
    case "interface": {
      const open = bodyStart(ts, nameAt, stmt.to)
      return sourceText(src, ts[decl.at]!.s, ts[stmt.to]!.e, open > stmt.to ? [] : internalMembers(sf, open))
    }
    case "const":
    case "let": {
      let j = nameAt + 1
      if (ts[j]?.t === ":") {
        // annotated: the annotation is the signature
        for (; j <= stmt.to && ts[j]!.t !== "="; j++)
          if (opens.has(ts[j]!.t) || ts[j]!.t === "<") j = matchClose(ts, j, true)
        return renamed(j - 1)
      }
      if (ts[j]?.t !== "=") return renamed(nameAt)
      j++
      if (ts[j]!.t === "async") j++
      if (ts[j]!.t === "function") {
        const star = ts[j + 1]!.t === "*"
        const params = star ? j + 2 : j + 1
        return `function${star ? "*" : ""} ${name}${text(params, bodyStart(ts, params, stmt.to) - 1).replace(/^ /, "")}`
      }
      // an arrow function: `<T>(params): R =>`
      const sigFrom = j
      if (ts[j]!.t === "<") j = matchClose(ts, j, true) + 1
      if (ts[j]!.t === "(") {
        const close = matchClose(ts, j, false)
        const arrow =
          ts[close + 1]?.t === "=>" ? close + 1 : ts[close + 1]?.t === ":" ? arrowAt(ts, close + 2, stmt.to) : -1
        if (arrow !== -1) return `function ${name}${text(sigFrom, arrow - 1)}`
      }
      // any other value: its initializer, with the bodies of its functions left out if they span lines
      const elided: Array<readonly [number, number, string]> = []
      for (let k = sigFrom; k <= stmt.to; k++) {
        if (ts[k]!.t !== "=>") continue
        let end = k + 1
        for (; end <= stmt.to && ts[end]!.t !== "," && !closes.has(ts[end]!.t); end++) {
          if (opens.has(ts[end]!.t)) end = matchClose(ts, end, false)
        }
        if (src.slice(ts[k + 1]!.s, ts[end - 1]!.e).includes("\n")) elided.push([ts[k]!.e, ts[end - 1]!.e, " …"])
        k = end - 1
      }
      const init = sourceText(src, ts[sigFrom]!.s, ts[stmt.to]!.e, elided)
      const lines = init.split("\n")
      return `${decl.kind} ${name} = ${lines.length <= 20 ? init : `${lines[0]} …`}`
    }
    default:
      return text(decl.at, stmt.to)
  }
}

// -----------------------------------------------------------------------------------------------
// the reference

interface Entry {
  readonly module: string
  readonly name: string
  readonly decls: ReadonlyArray<Decl>
  /** a comment on the export itself (`export { /** ... *\/ X as Y }`), which takes precedence */
  readonly exportDoc: Comment | undefined
}

/** the public names a module exports, in source order, with their declarations */
const exportsOf = (file: string, moduleName: string): Array<Entry> => {
  const module = load(file)
  const out: Array<Entry> = []
  const add = (name: string, decls: ReadonlyArray<Decl>, exportDoc: Comment | undefined) => {
    if (isInternal(exportDoc) || out.some((e) => e.name === name)) return
    const visible = decls.filter((d) => !isInternal(d.doc))
    if (decls.length > 0 && visible.length === 0) return
    out.push({ module: moduleName, name, decls: visible, exportDoc })
  }
  for (const e of module.exports) {
    if (e._tag === "decl") add(e.decl.name, module.decls.get(e.decl.name) ?? [], undefined)
    else if (e._tag === "spec") add(e.exported, resolve(e.from ?? file, e.local), e.doc)
    else if (e.as === undefined && e.from !== "") {
      for (const inner of exportsOf(e.from, moduleName)) add(inner.name, inner.decls, inner.exportDoc)
    }
  }
  return out
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes, duplicates numbered */
const slugger = () => {
  const seen = new Map<string, number>()
  return (heading: string): string => {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-")
    const n = seen.get(base)
    seen.set(base, (n ?? -1) + 1)
    return n === undefined ? base : `${base}-${n + 1}`
  }
}

const fence = (code: string, lang = "ts"): string => `\`\`\`${lang}\n${code}\n\`\`\``

/** the tags of a doc comment other than `@since` and `@internal`, as Markdown */
const renderTags = (doc: Doc): Array<string> => {
  const out: Array<string> = []
  const params = doc.tags.filter((t) => t.tag === "param")
  if (params.length > 0) {
    out.push(
      params
        .map((p) => {
          const m = /^(?:\{[^}]*\}\s*)?\[?([\w.$]+)[^\s\]]*\]?\s*-?\s*([\s\S]*)$/.exec(p.text)
          return m === null ? `- ${p.text}` : `- \`${m[1]}\`: ${m[2]}`
        })
        .join("\n")
    )
  }
  for (const t of doc.tags) {
    if (t.tag === "since" || t.tag === "internal" || t.tag === "param") continue
    if (t.tag === "example") out.push(`Example:\n\n${t.text.includes("```") ? t.text : fence(t.text)}`)
    else if (t.tag === "deprecated") out.push(`**Deprecated**${t.text === "" ? "" : `: ${t.text}`}`)
    else if (t.tag === "returns" || t.tag === "return") out.push(`Returns ${t.text}`)
    else if (t.tag === "see") out.push(`See ${t.text}`)
    else if (t.tag === "throws") out.push(`Throws ${t.text}`)
    else out.push(`${t.tag}: ${t.text}`)
  }
  return out
}

/** the comment at the top of a file, before its first statement */
const moduleComment = (sf: SourceFile): Comment | undefined =>
  sf.tokens.length > 0 ? docBefore(sf, sf.tokens[0]!.s) : undefined

const sinceOf = (comments: ReadonlyArray<Comment | undefined>): string | undefined => {
  for (const c of comments) {
    const since = tagOf(parseDoc(c), "since")
    if (since !== undefined) return since
  }
  return undefined
}

/** names that are public but have no doc comment text (for the report of `--missing`) */
const undocumented: Array<string> = []

export const generate = (): string => {
  modules.clear()
  undocumented.length = 0
  const indexFile = path.join(root, "src/index.ts")
  const index = load(indexFile)
  const namespaces = index.exports
    .flatMap((e) => (e._tag === "star" && e.as !== undefined ? [{ name: e.as, file: e.from }] : []))
    .sort((a, b) => a.name.localeCompare(b.name))
  const slug = slugger()
  // names `src/index.ts` exports directly (not as a namespace), if any, come first, unqualified
  const topLevel = exportsOf(indexFile, "")
  const sections = [
    ...(topLevel.length === 0 ? [] : [{ name: "", file: indexFile, entries: topLevel }]),
    ...namespaces.map((ns) => ({ ...ns, entries: exportsOf(ns.file, ns.name) }))
  ]
  const title = (name: string) => (name === "" ? "cloud-effect" : name)
  const qualify = (module: string, name: string) => (module === "" ? name : `${module}.${name}`)
  const baseSince = tagOf(parseDoc(moduleComment(index.sf)), "since")
  // anchors in document order (the contents' own heading comes first)
  slug("API reference")
  slug("Contents")
  const anchors = new Map<string, string>()
  for (const s of sections) {
    anchors.set(s.name, slug(title(s.name)))
    for (const e of s.entries) anchors.set(qualify(s.name, e.name), slug(qualify(s.name, e.name)))
  }
  // a declaration exported by several modules is shown in full under the first one
  const shownAt = new Map<Decl, string>()
  const firstShown = (e: Entry): string | undefined => (e.decls.length === 0 ? undefined : shownAt.get(e.decls[0]!))

  const link = (label: string, key: string): string =>
    anchors.has(key) ? `[\`${label}\`](#${anchors.get(key)})` : `\`${label}\``
  const renderText = (text: string, moduleName: string): string =>
    text.replace(/\{@link(?:code|plain)?\s+([^\s}|]+)(?:[\s|]+([^}]*))?\}/g, (_, target: string, label?: string) => {
      const key = anchors.has(qualify(moduleName, target)) ? qualify(moduleName, target) : target
      return label === undefined || label.trim() === ""
        ? link(target, key)
        : anchors.has(key)
          ? `[${label.trim()}](#${anchors.get(key)})`
          : label.trim()
    })

  const parts: Array<string> = [
    "# API reference",
    "",
    "Generated from the source by `npm run docs` (`scripts/api.ts`); CI checks it is current. Each",
    'module is a namespace of `cloud-effect` (`import { Process } from "cloud-effect"`), and every name',
    "below is reached through it: `Process.send`, `Channel.newChan`. A signature is the declaration as",
    "written in the source (parameters in order, with their defaults, and the return type).",
    ...(baseSince === undefined ? [] : [`Everything is available since ${baseSince} unless its entry says otherwise.`]),
    "",
    "## Contents",
    ""
  ]
  for (const s of sections) {
    const summary = /^[^.:]{1,80}(?=[.:]\s)/.exec(parseDoc(moduleComment(load(s.file).sf)).description)
    parts.push(`- [${title(s.name)}](#${anchors.get(s.name)})${summary === null ? "" : `: ${summary[0]}`}`)
  }
  parts.push("")

  for (const s of sections) {
    const module = load(s.file)
    const moduleDoc = parseDoc(moduleComment(module.sf))
    const moduleSince = tagOf(moduleDoc, "since") ?? baseSince
    const moduleNotes = [
      `\`${path.relative(root, s.file)}\``,
      ...(moduleSince !== baseSince ? [`since ${moduleSince}`] : [])
    ]
    parts.push(`## ${title(s.name)}`, "", `<sub>${moduleNotes.join(" · ")}</sub>`, "")
    if (moduleDoc.description !== "") parts.push(renderText(moduleDoc.description, s.name), "")
    for (const tag of renderTags(moduleDoc)) parts.push(renderText(tag, s.name), "")
    const shared: Array<string> = []
    for (const e of s.entries) {
      const qualified = qualify(s.name, e.name)
      const earlier = firstShown(e)
      if (earlier !== undefined) {
        shared.push(`- \`${qualified}\`: see ${link(earlier, earlier)}.`)
        continue
      }
      for (const d of e.decls) shownAt.set(d, qualified)
      parts.push(`### \`${qualified}\``, "")
      if (e.decls.length > 0) parts.push(fence(e.decls.map((d) => signatureOf(d, e.name)).join("\n\n")), "")
      const docs = [e.exportDoc, ...e.decls.map((d) => d.doc)].map(parseDoc)
      // the export's own comment, if it says something, else the declarations'
      const described = docs[0]!.description !== "" ? [docs[0]!] : docs.slice(1).filter((d) => d.description !== "")
      if (described.length === 0) undocumented.push(qualified)
      for (const d of described) parts.push(renderText(d.description, s.name), "")
      for (const d of docs) for (const tag of renderTags(d)) parts.push(renderText(tag, s.name), "")
      const notes: Array<string> = []
      const declared = e.decls[0]?.name
      if (declared !== undefined && declared !== e.name && !e.decls.every((d) => renames.has(d.kind))) {
        notes.push(`declared as \`${declared}\``)
      }
      if (e.decls.length === 0) notes.push("declared outside this package")
      const since = sinceOf([e.exportDoc, ...e.decls.map((d) => d.doc)])
      if (since !== undefined && since !== moduleSince) notes.push(`since ${since}`)
      if (notes.length > 0) parts.push(`<sub>${notes.join(" · ")}</sub>`, "")
    }
    if (shared.length > 0) parts.push("Also exported here, documented under another module:", "", ...shared, "")
  }
  return `${parts.join("\n").trimEnd()}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = path.join(root, "docs/api.md")
  const text = generate()
  if (process.argv.includes("--missing")) {
    process.stdout.write(`${undocumented.join("\n")}\n`)
  } else if (process.argv.includes("--check")) {
    const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : ""
    if (current !== text) {
      process.stderr.write("docs/api.md is stale: run `node scripts/api.ts`\n")
      process.exit(1)
    }
  } else {
    fs.writeFileSync(target, text)
  }
}
