/**
 * Messages: what can be sent, how a receiver recognises it, and how it crosses a node boundary.
 *
 * A message is a value of a Schema-described type: a primitive (`string`, `number`, `boolean`,
 * `bigint`, `null`), a `Uint8Array`, or an instance of a Schema class (`Schema.TaggedClass` is the
 * recommended form: its `_tag` lets a mailbox index messages so selective receive never rescans).
 * Local sends pass the value itself; remote sends encode it with its class's schema and the receiver
 * decodes it with the schema it matches on, as Cloud Haskell does with its fingerprints.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Message } from "cloud-effect"
 * class Ping extends Schema.TaggedClass<Ping>()("Ping", { seq: Schema.Int }) {}
 * Message.keyOf(new Ping({ seq: 1 })) // "Ping"
 * Message.keysOf(Ping)                // Set { "Ping" }
 * ```
 * @since 0.1.0
 */
import { Option, Schema, type SchemaAST } from "effect"
import { SchemaBinary } from "effect/encoding"

/**
 * The values sent as they are, with no Schema class: strings, numbers, booleans, bigints, null and
 * bytes.
 * @since 0.1.0
 */
export type Primitive = string | number | boolean | bigint | null | Uint8Array

/**
 * An instance of a Schema class with a `_tag` (a `Schema.TaggedClass`).
 * @since 0.1.0
 */
export interface Tagged {
  readonly _tag: string
}

/**
 * The static type of a message. At run time an object must also be an instance of a Schema class
 * (plain objects have no schema to encode them with); see {@link InvalidMessage}.
 * @since 0.1.0
 */
export type Sendable = Primitive | Tagged

/**
 * Raised (as a defect of the sending process) for a value that passed the static check but has no
 * schema, such as a plain object literal with a `_tag`. Use a `Schema.TaggedClass` instead.
 * @since 0.1.0
 */
export class InvalidMessage extends Schema.TaggedError<InvalidMessage>()("InvalidMessage", {
  description: Schema.String
}) {
  override get message(): string {
    return `not a sendable message: ${this.description} (messages are primitives, Uint8Arrays or Schema class instances)`
  }
}

/**
 * The key a mailbox indexes a message under: its `_tag`, or the name of its primitive type.
 * @since 0.1.0
 */
export const keyOf = (value: unknown): string => {
  switch (typeof value) {
    case "object": {
      if (value === null) return "null"
      const tag = (value as { readonly _tag?: unknown })._tag
      if (typeof tag === "string") return tag
      return value instanceof Uint8Array ? "Uint8Array" : "object"
    }
    case "string":
    case "number":
    case "boolean":
    case "bigint":
      return typeof value
    default:
      return "other"
  }
}

/**
 * The schema that describes a value, if it has one.
 * @since 0.1.0
 */
export const schemaOf = (value: unknown): Schema.Top | undefined => {
  switch (typeof value) {
    case "string":
      return Schema.String
    case "number":
      return Schema.Number
    case "boolean":
      return Schema.Boolean
    case "bigint":
      return Schema.BigInt
    case "object": {
      if (value === null) return Schema.Null
      if (value instanceof Uint8Array) return Schema.Uint8Array
      const ctor = (value as object).constructor
      return Schema.isSchema(ctor) ? (ctor as unknown as Schema.Top) : undefined
    }
    default:
      return undefined
  }
}

/**
 * Check that a value can be sent: it has a schema.
 * @since 0.1.0
 */
export const validate = (value: unknown): InvalidMessage | undefined => {
  if (typeof value === "object" && value !== null && validClasses.has(value.constructor)) return undefined
  const schema = schemaOf(value)
  if (schema === undefined) return new InvalidMessage({ description: describe(value) })
  if (typeof value === "object" && value !== null) validClasses.add(value.constructor)
  return undefined
}

/** constructors already seen to be schemas (the check runs on every send) */
const validClasses = new WeakSet<object>()

const describe = (value: unknown): string => {
  if (typeof value !== "object" || value === null) return typeof value
  const ctor = (value as object).constructor
  return ctor === Object ? `plain object with key ${keyOf(value)}` : `instance of ${ctor?.name ?? "?"}`
}

/**
 * The keys a schema can accept (see {@link keyOf}), or `undefined` when it may accept a message
 * under any key (then a receive scans the whole mailbox in order).
 * @since 0.1.0
 */
export const keysOf = (schema: Schema.Top): ReadonlySet<string> | undefined => infoOf(schema).keys

/** @internal */
export interface SchemaInfo {
  readonly keys: ReadonlySet<string> | undefined
  readonly is: (u: unknown) => boolean
  readonly codec: () => Schema.Codec<unknown, Uint8Array<ArrayBuffer>>
  /** the codec's encoder, made once (a fresh `Schema.encodeSync` per message costs a third more) */
  readonly encode: (value: unknown) => Uint8Array<ArrayBuffer>
  /** the codec's decoder, made once */
  readonly decode: (bytes: Uint8Array) => Option.Option<unknown>
}

const infos = new WeakMap<object, SchemaInfo>()

/** @internal */
export const infoOf = (schema: Schema.Top): SchemaInfo => {
  let info = infos.get(schema)
  if (info === undefined) {
    let codec: Schema.Codec<unknown, Uint8Array<ArrayBuffer>> | undefined
    let encode: ((value: unknown) => Uint8Array<ArrayBuffer>) | undefined
    let decode: ((bytes: Uint8Array) => Option.Option<unknown>) | undefined
    const codecOf = () => (codec ??= SchemaBinary.toCodec(schema as Schema.Codec<unknown, unknown>) as never)
    info = {
      keys: schema === (Schema.Uint8Array as Schema.Top) ? new Set(["Uint8Array"]) : astKeys(schema.ast),
      is: Schema.is(schema as Schema.Schema<unknown>),
      codec: codecOf,
      encode: (value) => {
        if (encode === undefined) encode = Schema.encodeSync(codecOf())
        return encode(value)
      },
      decode: (bytes) => {
        if (decode === undefined) decode = Schema.decodeUnknownOption(codecOf())
        return decode(bytes)
      }
    }
    infos.set(schema, info)
  }
  return info
}

const astKeys = (ast: SchemaAST.AST): ReadonlySet<string> | undefined => {
  switch (ast._tag) {
    case "String":
    case "TemplateLiteral":
      return new Set(["string"])
    case "Number":
      return new Set(["number"])
    case "Boolean":
      return new Set(["boolean"])
    case "BigInt":
      return new Set(["bigint"])
    case "Null":
      return new Set(["null"])
    case "Never":
      return new Set()
    case "Literal":
      return new Set([typeof ast.literal])
    case "Union": {
      const out = new Set<string>()
      for (const member of ast.types) {
        const keys = astKeys(member)
        if (keys === undefined) return undefined
        for (const k of keys) out.add(k)
      }
      return out
    }
    case "Objects": {
      const tag = ast.propertySignatures.find((ps) => ps.name === "_tag")
      if (tag === undefined) return undefined
      const keys = literalStrings(tag.type)
      return keys
    }
    case "Declaration": {
      const [inner] = ast.typeParameters
      return inner !== undefined && inner._tag === "Objects" ? astKeys(inner) : undefined
    }
    default:
      return undefined
  }
}

const literalStrings = (ast: SchemaAST.AST): ReadonlySet<string> | undefined => {
  if (ast._tag === "Literal") return typeof ast.literal === "string" ? new Set([ast.literal]) : undefined
  if (ast._tag === "Union") {
    const out = new Set<string>()
    for (const member of ast.types) {
      const keys = literalStrings(member)
      if (keys === undefined) return undefined
      for (const k of keys) out.add(k)
    }
    return out
  }
  return undefined
}

/**
 * Encode a message for the wire with its own schema. Throws `InvalidMessage` for a value without a
 * schema or one its schema cannot encode.
 * @since 0.1.0
 */
export const encode = (value: unknown): Uint8Array<ArrayBuffer> => {
  const bytes = encodeView(value)
  // an exact copy: SchemaBinary returns a view of a shared 64 KiB arena, which a kept payload pins
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()
}

/**
 * `encode` without the copy: a view that is only valid until the next encoding (for a caller that
 * copies it at once, like the protocol's `Send`).
 * @internal
 */
export const encodeView = (value: unknown): Uint8Array<ArrayBuffer> => {
  const schema = schemaOf(value)
  if (schema === undefined) throw new InvalidMessage({ description: describe(value) })
  try {
    return infoOf(schema).encode(value)
  } catch (error) {
    // a value its own schema cannot encode (e.g. a bigint in a `Schema.Unknown` field) is the
    // sender's defect, named like a value without a schema
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error)
    throw new InvalidMessage({ description: `${describe(value)} that does not encode: ${reason}` })
  }
}

/**
 * Decode a payload sent under `key` with the schema a receiver matches on; `None` if it does not
 * decode. For a union of classes the payload is decoded with the member that owns the key (the
 * binary form of a class is its own, not its union's).
 * @since 0.1.0
 */
export const decode = <A>(schema: Schema.Schema<A>, key: string, payload: Uint8Array): Option.Option<A> => {
  const ast = schema.ast
  if (ast._tag === "Union") {
    const members = (schema as unknown as { readonly members?: ReadonlyArray<Schema.Top> }).members
    if (members !== undefined) {
      for (const member of members) {
        const keys = infoOf(member).keys
        if (keys !== undefined && !keys.has(key)) continue
        const decoded = decode(member as Schema.Schema<A>, key, payload)
        if (Option.isSome(decoded)) return decoded
      }
      return Option.none()
    }
  }
  return infoOf(schema).decode(payload) as Option.Option<A>
}
