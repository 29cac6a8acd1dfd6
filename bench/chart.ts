/**
 * Minimal SVG charts for the benchmark report: grouped bars and lines (log x allowed). No
 * dependencies: the charts are plain SVG text that docs/performance.md shows.
 */

const palette = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d"]

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const niceMax = (max: number): number => {
  if (max <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(max))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p
  return 10 * p
}

const fmtTick = (v: number): string =>
  v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(2)}`

export interface BarGroup {
  readonly label: string
  readonly bars: ReadonlyArray<{ readonly label: string; readonly value: number }>
}

/** grouped vertical bars; one colour per bar label, a legend, an optional reference line */
export const barChart = (options: {
  readonly title: string
  readonly unit: string
  readonly groups: ReadonlyArray<BarGroup>
  readonly reference?: { readonly value: number; readonly label: string }
}): string => {
  const width = 760
  const height = 360
  const left = 70
  const right = 20
  const top = 40
  const bottom = 90
  const labels = [...new Set(options.groups.flatMap((g) => g.bars.map((b) => b.label)))]
  const max = niceMax(
    Math.max(options.reference?.value ?? 0, ...options.groups.flatMap((g) => g.bars.map((b) => b.value)))
  )
  const plotW = width - left - right
  const plotH = height - top - bottom
  const groupW = plotW / Math.max(1, options.groups.length)
  const barW = Math.min(40, (groupW * 0.8) / Math.max(1, labels.length))
  const y = (v: number) => top + plotH - (v / max) * plotH
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${esc(options.title)}</text>`
  ]
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${fmtTick(v)}</text>`
    )
  }
  out.push(
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(options.unit)}</text>`
  )
  options.groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + (groupW - barW * g.bars.length) / 2
    g.bars.forEach((b, bi) => {
      const colour = palette[labels.indexOf(b.label) % palette.length]
      const x = x0 + bi * barW
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(b.value).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(b.value)).toFixed(1)}" fill="${colour}"><title>${esc(`${g.label} / ${b.label}: ${b.value}`)}</title></rect>`
      )
    })
    out.push(
      `<text x="${left + gi * groupW + groupW / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(g.label)}</text>`
    )
  })
  if (options.reference !== undefined) {
    const ry = y(options.reference.value)
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${ry}" y2="${ry}" stroke="#333" stroke-dasharray="5 4"/>`,
      `<text x="${width - right}" y="${ry - 5}" text-anchor="end">${esc(options.reference.label)}</text>`
    )
  }
  labels.forEach((label, i) => {
    const lx = left + (i % 4) * 170
    const ly = height - 40 + Math.floor(i / 4) * 18
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${palette[i % palette.length]}"/>`,
      `<text x="${lx + 18}" y="${ly}">${esc(label)}</text>`
    )
  })
  out.push("</svg>")
  return out.join("\n")
}

/** lines over x (log10 x if `logX`), with markers and a legend */
export const lineChart = (options: {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly logX?: boolean
  readonly series: ReadonlyArray<{ readonly label: string; readonly points: ReadonlyArray<readonly [number, number]> }>
}): string => {
  const width = 760
  const height = 380
  const left = 70
  const right = 20
  const top = 40
  const bottom = 90
  const tx = (x: number) => (options.logX ? Math.log10(x) : x)
  const xs = options.series.flatMap((s) => s.points.map(([x]) => tx(x)))
  const xMin = Math.min(...xs)
  const xMax = Math.max(...xs)
  const yMax = niceMax(Math.max(...options.series.flatMap((s) => s.points.map(([, v]) => v))))
  const plotW = width - left - right
  const plotH = height - top - bottom
  const px = (x: number) => left + ((tx(x) - xMin) / Math.max(1e-9, xMax - xMin)) * plotW
  const py = (v: number) => top + plotH - (v / yMax) * plotH
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${esc(options.title)}</text>`
  ]
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${py(v) + 4}" text-anchor="end">${fmtTick(v)}</text>`
    )
  }
  const ticks = [...new Set(options.series.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b)
  for (const t of ticks) {
    out.push(`<text x="${px(t)}" y="${top + plotH + 16}" text-anchor="middle">${fmtTick(t)}</text>`)
  }
  out.push(
    `<text x="${left + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`
  )
  options.series.forEach((s, i) => {
    const colour = palette[i % palette.length]
    const d = s.points.map(([x, v], j) => `${j === 0 ? "M" : "L"}${px(x).toFixed(1)},${py(v).toFixed(1)}`).join(" ")
    out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`)
    for (const [x, v] of s.points) {
      out.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3.5" fill="${colour}"><title>${esc(`${s.label}: ${x} → ${v}`)}</title></circle>`
      )
    }
    const lx = left + (i % 4) * 170
    const ly = height - 30 + Math.floor(i / 4) * 18
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${lx + 18}" y="${ly}">${esc(s.label)}</text>`
    )
  })
  out.push("</svg>")
  return out.join("\n")
}
