/** Minimal inline-SVG charts (no scripts, no external assets): a scatter/line chart with markers. */

export interface Series {
  label: string
  color: string
  points: [number, number][]
  /** Draw as a step line (CDF) instead of dots. */
  line?: boolean
}

export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  markers?: { x: number; label: string }[]
  width?: number
  height?: number
}

export const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

/** A round step for axis ticks: 1, 2 or 5 times a power of ten, ~5 ticks over the span. */
function tickStep(span: number): number {
  const raw = span / 5
  const pow = 10 ** Math.floor(Math.log10(raw || 1))
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? pow * 10
}

export function chart(c: ChartSpec): string {
  const W = c.width ?? 720
  const H = c.height ?? 280
  const L = 56, R = 12, T = 28, B = 40
  const all = c.series.flatMap((s) => s.points)
  const xs = all.map((p) => p[0]).concat((c.markers ?? []).map((m) => m.x))
  const ys = all.map((p) => p[1])
  const x0 = Math.min(...xs, 0), x1 = Math.max(...xs, x0 + 1)
  const y0 = 0, y1 = Math.max(...ys, 1) * 1.08
  const sx = (x: number): number => L + ((x - x0) / (x1 - x0)) * (W - L - R)
  const sy = (y: number): number => H - B - ((y - y0) / (y1 - y0)) * (H - T - B)
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`]
  out.push(`<text x="${L}" y="16" font-size="13" font-weight="bold">${esc(c.title)}</text>`)
  const xt = tickStep(x1 - x0), yt = tickStep(y1 - y0)
  for (let y = 0; y <= y1; y += yt) out.push(`<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e4e4e4"/><text x="${L - 6}" y="${sy(y) + 4}" text-anchor="end">${+y.toFixed(3)}</text>`)
  for (let x = Math.ceil(x0 / xt) * xt; x <= x1; x += xt) out.push(`<text x="${sx(x)}" y="${H - B + 16}" text-anchor="middle">${+x.toFixed(3)}</text>`)
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#888"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#888"/>`)
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(c.xLabel)}</text>`)
  out.push(`<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`)
  for (const m of c.markers ?? []) {
    out.push(`<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${T}" y2="${H - B}" stroke="#c00" stroke-dasharray="4 3"/>${sx(m.x) > W * 0.75 ? `<text x="${sx(m.x) - 3}" y="${T + 10}" fill="#c00" text-anchor="end">` : `<text x="${sx(m.x) + 3}" y="${T + 10}" fill="#c00">`}${esc(m.label)}</text>`)
  }
  for (const s of c.series) {
    if (s.line) {
      const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)} ${sy(p[1]).toFixed(1)}`).join('')
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`)
    } else {
      out.push(`<g fill="${s.color}">${s.points.map((p) => `<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="1.6"/>`).join('')}</g>`)
    }
  }
  c.series.forEach((s, i) => {
    const x = W - R - 80 * (c.series.length - i)
    out.push(`<rect x="${x}" y="7" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="16">${esc(s.label)}</text>`)
  })
  out.push('</svg>')
  return out.join('')
}

/** Empirical CDF points of a sample: (value, fraction <= value). */
export function cdf(values: number[]): [number, number][] {
  const v = [...values].sort((a, b) => a - b)
  return v.map((x, i) => [x, (i + 1) / v.length])
}
