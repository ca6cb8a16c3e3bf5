import type { FlowSamples, LabResult } from '../run/result.js'
export function renderHtml(r: LabResult, _s: FlowSamples): string {
  return `<pre>${JSON.stringify(r.flows.map((f) => f.name))}</pre>`
}
