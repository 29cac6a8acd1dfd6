/**
 * Length-prefixed framing for byte-stream transports.
 *
 * A frame is a 4-byte big-endian payload length, a 1-byte frame type, then the payload:
 *
 * ```text
 * +----------------+------+-----------------+
 * | length (u32 BE)| type | payload (length) |
 * +----------------+------+-----------------+
 * ```
 *
 * The decoder checks the length against its limit as soon as the 5-byte header is complete, before
 * it keeps a single payload byte, and it buffers a partial frame as the chunks that arrived (no
 * allocation ahead of the bytes), so a forged length costs nothing. Whole frames inside one chunk
 * are delivered as views of that chunk, without a copy.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameDecoder } from "./framing.ts"
 * const bytes = encodeFrame(0, new Uint8Array([1, 2, 3]))
 * const decoder = new FrameDecoder(1024)
 * decoder.push(bytes.subarray(0, 2), () => {})
 * decoder.push(bytes.subarray(2), (type, payload) => console.log(type, payload)) // 0 Uint8Array [1, 2, 3]
 * ```
 * @internal
 */

/** bytes before the payload: the length and the type */
export const HEADER_SIZE = 5

/** the largest length a 4-byte prefix can carry */
export const MAX_LENGTH = 0xffff_ffff

/** payloads at least this big are written as their own chunk instead of being copied into a batch */
export const COPY_THRESHOLD = 64 * 1024

const EMPTY = new Uint8Array(0)

/** Why a byte stream is not a valid sequence of frames. */
export type FrameError =
  | { readonly _tag: "FrameTooLarge"; readonly length: number; readonly limit: number }
  | { readonly _tag: "Truncated"; readonly received: number; readonly expected: number }

/** a human-readable description of a framing error */
export const describeFrameError = (error: FrameError): string =>
  error._tag === "FrameTooLarge"
    ? `frame of ${error.length} bytes exceeds the limit of ${error.limit} bytes`
    : `truncated frame: ${error.received} of ${error.expected} bytes`

/** write a frame header into `target` at `offset` */
export const writeHeader = (target: Uint8Array, offset: number, type: number, length: number): void => {
  target[offset] = length >>> 24
  target[offset + 1] = (length >>> 16) & 0xff
  target[offset + 2] = (length >>> 8) & 0xff
  target[offset + 3] = length & 0xff
  target[offset + 4] = type
}

/** one frame as one buffer */
export const encodeFrame = (type: number, payload: Uint8Array): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(HEADER_SIZE + payload.length)
  writeHeader(out, 0, type, payload.length)
  out.set(payload, HEADER_SIZE)
  return out
}

/**
 * Frame several payloads for one socket write. Small payloads are copied together into one buffer;
 * a payload of `COPY_THRESHOLD` bytes or more is passed through as its own chunk after its header.
 * `typeOf` gives each payload's frame type.
 */
export const encodeFrames = (
  payloads: ReadonlyArray<Uint8Array>,
  typeOf: (payload: Uint8Array) => number
): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let i = 0
  while (i < payloads.length) {
    // a run of small payloads: one buffer
    let size = 0
    let j = i
    while (j < payloads.length && payloads[j]!.length < COPY_THRESHOLD) {
      size += HEADER_SIZE + payloads[j]!.length
      j++
    }
    if (j > i) {
      const buffer = new Uint8Array(size)
      let offset = 0
      for (let k = i; k < j; k++) {
        const p = payloads[k]!
        writeHeader(buffer, offset, typeOf(p), p.length)
        buffer.set(p, offset + HEADER_SIZE)
        offset += HEADER_SIZE + p.length
      }
      out.push(buffer)
      i = j
    }
    if (i < payloads.length) {
      const p = payloads[i]!
      const header = new Uint8Array(HEADER_SIZE)
      writeHeader(header, 0, typeOf(p), p.length)
      out.push(header, p)
      i++
    }
  }
  return out
}

const readLength = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0

/**
 * An incremental frame decoder for one connection. Feed it chunks with `push`; it calls `onFrame`
 * for every complete frame, in order, and returns a `FrameError` (and stops) when a frame is over
 * `maxFrameSize`. `maxFrameSize` may be changed between chunks (e.g. raised after a handshake).
 */
export class FrameDecoder {
  maxFrameSize: number
  private readonly header = new Uint8Array(HEADER_SIZE)
  private headerFill = 0
  /** the frame being assembled: its type, length, and the parts received so far */
  private partType = 0
  private partLength = -1
  private parts: Array<Uint8Array> = []
  private partFill = 0
  /** once a frame error is returned, the decoder accepts nothing more */
  private failed: FrameError | undefined = undefined

  constructor(maxFrameSize: number) {
    this.maxFrameSize = maxFrameSize
  }

  /** bytes of an incomplete frame (header included) held by the decoder */
  get buffered(): number {
    return this.partLength >= 0 ? HEADER_SIZE + this.partFill : this.headerFill
  }

  /**
   * Feed one chunk. `onFrame` receives the type and payload of each complete frame (a view of
   * `chunk` when the frame lies inside it). Returns the error that stopped decoding, if any.
   */
  push(chunk: Uint8Array, onFrame: (type: number, payload: Uint8Array) => void): FrameError | undefined {
    if (this.failed !== undefined) return this.failed
    const end = chunk.length
    let offset = 0
    while (offset < end) {
      if (this.partLength >= 0) {
        // continue the frame being assembled
        const n = Math.min(this.partLength - this.partFill, end - offset)
        this.parts.push(chunk.subarray(offset, offset + n))
        this.partFill += n
        offset += n
        if (this.partFill === this.partLength) onFrame(this.partType, this.takeParts())
        continue
      }
      let length: number
      let type: number
      if (this.headerFill === 0 && end - offset >= HEADER_SIZE) {
        length = readLength(chunk, offset)
        type = chunk[offset + 4]!
        offset += HEADER_SIZE
      } else {
        const n = Math.min(HEADER_SIZE - this.headerFill, end - offset)
        this.header.set(chunk.subarray(offset, offset + n), this.headerFill)
        this.headerFill += n
        offset += n
        if (this.headerFill < HEADER_SIZE) break
        this.headerFill = 0
        length = readLength(this.header, 0)
        type = this.header[4]!
      }
      if (length > this.maxFrameSize) {
        this.failed = { _tag: "FrameTooLarge", length, limit: this.maxFrameSize }
        this.parts = []
        return this.failed
      }
      if (end - offset >= length) {
        // the whole payload is in this chunk: a view, no copy
        onFrame(type, length === 0 ? EMPTY : chunk.subarray(offset, offset + length))
        offset += length
        continue
      }
      this.partType = type
      this.partLength = length
      this.partFill = 0
    }
    return undefined
  }

  /** the stream ended: an error if it ended inside a frame */
  end(): FrameError | undefined {
    if (this.failed !== undefined) return this.failed
    if (this.partLength >= 0) return { _tag: "Truncated", received: this.partFill, expected: this.partLength }
    if (this.headerFill > 0) return { _tag: "Truncated", received: this.headerFill, expected: HEADER_SIZE }
    return undefined
  }

  private takeParts(): Uint8Array {
    const parts = this.parts
    const length = this.partLength
    this.parts = []
    this.partLength = -1
    this.partFill = 0
    if (parts.length === 1) return parts[0]!
    const out = new Uint8Array(length)
    let offset = 0
    for (const p of parts) {
      out.set(p, offset)
      offset += p.length
    }
    return out
  }
}
