/** Writes the reports of a run into a directory: summary.txt, result.json, report.html. */
import fs from 'node:fs'
import path from 'node:path'
import type { FlowSamples, LabResult } from '../run/result.js'
import { renderHtml } from './html.js'
import { formatSummary } from './text.js'

export function writeReports(dir: string, r: LabResult, samples: FlowSamples): void {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'summary.txt'), formatSummary(r) + '\n')
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify(r, null, 2))
  fs.writeFileSync(path.join(dir, 'report.html'), renderHtml(r, samples))
}
