/**
 * Turns `overpass sim` options into a ready SimInit (minus the router
 * factory): reads the matrix and events files, applies the asymmetric split
 * to the whole matrix first (so a pair's split does not depend on the subset)
 * and then picks the sites.
 */
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { SimConfigError } from './errors.js'
import { parseEvents } from './events.js'
import { applyAsymmetry, parseMatrixCsv, sampleSites, selectSites } from './matrix.js'
import { streamRng } from './prng.js'
import type { SimInit } from './simulator.js'

export interface SimCliOptions {
  matrix: string
  asymmetry?: string
  seed?: string
  events?: string
  hopCostMs?: string
  durationS?: string
  relays?: string
  sites?: string
  jitterMs?: string
  lossPct?: string
  tickMs?: string
  maxOffsetMs?: string
  driftPpm?: string
  json?: boolean
  /** commander's --no-freeze */
  freeze?: boolean
  workers?: string
  /** commander's --no-progress: false turns the progress display off (the CLI's default is on). */
  progress?: boolean
}

export function simInitFromOptions(o: SimCliOptions): Omit<SimInit, 'createRouter'> & { asymmetry: number } {
  const seed = num('--seed', o.seed, 1, { integer: true, min: 0 })
  const asymmetry = num('--asymmetry', o.asymmetry, 0, { min: 0, max: 1 })
  let matrix = parseMatrixCsv(readText('--matrix', o.matrix), o.matrix)
  if (asymmetry > 0) matrix = applyAsymmetry(matrix, asymmetry, streamRng(seed, 'asymmetry'))
  if (o.sites !== undefined && o.relays !== undefined) throw new SimConfigError('--sites', 'give --sites or --relays, not both')
  if (o.sites !== undefined) matrix = selectSites(matrix, o.sites.split(',').map((s) => s.trim()).filter((s) => s !== ''))
  if (o.relays !== undefined) matrix = sampleSites(matrix, num('--relays', o.relays, 0, { integer: true, min: 2 }), streamRng(seed, 'subset'))
  return {
    matrix,
    seed,
    asymmetry,
    hopCostMs: num('--hop-cost-ms', o.hopCostMs, 0, { min: 0 }),
    durationS: num('--duration-s', o.durationS, 60, { min: 0.001 }),
    jitterMs: num('--jitter-ms', o.jitterMs, 0, { min: 0 }),
    lossPct: num('--loss-pct', o.lossPct, 0, { min: 0, max: 100 }),
    tickMs: num('--tick-ms', o.tickMs, 20, { min: 1, max: 1000 }),
    maxClockOffsetMs: num('--max-offset-ms', o.maxOffsetMs, 3_600_000, { min: 0 }),
    driftPpm: num('--drift-ppm', o.driftPpm, 0, { min: 0, max: 10_000 }),
    freezeMessages: o.freeze ?? true,
    // Two loops only pay off with two cores; the result is the same either way.
    workers: num('--workers', o.workers, availableParallelism() >= 2 ? 2 : 1, { integer: true, min: 1, max: 2 }),
    events: o.events === undefined ? [] : parseEvents(readText('--events', o.events), o.events),
  }
}

function readText(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new SimConfigError(option, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function num(option: string, raw: string | undefined, dflt: number, c: { integer?: boolean; min?: number; max?: number }): number {
  if (raw === undefined) return dflt
  const v = Number(raw)
  const ok = raw.trim() !== '' && Number.isFinite(v) && (!c.integer || Number.isInteger(v)) && (c.min === undefined || v >= c.min) && (c.max === undefined || v <= c.max)
  if (!ok) {
    const range = `${c.min ?? '-inf'}..${c.max ?? 'inf'}`
    throw new SimConfigError(option, `"${raw}" is not ${c.integer ? 'an integer' : 'a number'} in ${range}`)
  }
  return v
}
