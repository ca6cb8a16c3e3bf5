/**
 * Writes the reports of a run into a directory: summary.txt, result.json,
 * report.html, and series.json (every packet's one-way delays and times,
 * per flow; lab/run/series.ts reads figures in any window from it).
 */
import fs from 'node:fs'
import path from 'node:path'
import type { FlowSamples, LabResult, SeriesByFlow } from '../run/result.js'
import { SERIES_COLUMNS } from '../run/series.js'
import { renderHtml } from './html.js'
import { formatSummary } from './text.js'

export function writeReports(dir: string, r: LabResult, samples: FlowSamples, series: SeriesByFlow = new Map()): void {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'summary.txt'), formatSummary(r) + '\n')
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify(r, null, 2))
  fs.writeFileSync(path.join(dir, 'report.html'), renderHtml(r, samples))
  fs.writeFileSync(path.join(dir, 'series.json'), seriesJson(r, series))
}

/** One line per packet row keeps the file diffable and still plain JSON. */
export function seriesJson(r: LabResult, series: SeriesByFlow): string {
  const flows = [...series.entries()].map(([key, s]) => `    ${JSON.stringify(key)}: { "sent": ${s.sent}, "origin_duplicates": ${s.originDuplicates}, "client_duplicates": ${s.clientDuplicates}, "rows": [\n${s.rows.map((row) => `      ${JSON.stringify(row)}`).join(',\n')}\n    ] }`)
  return `{\n  "scenario": ${JSON.stringify(r.scenario)},\n  "run": ${JSON.stringify(r.run)},\n  "columns": ${JSON.stringify(SERIES_COLUMNS)},\n  "flows": {\n${flows.join(',\n')}\n  }\n}\n`
}
