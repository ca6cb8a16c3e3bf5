import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runSim } from '../../src/cli/commands/sim.js'
import { parseEvents } from '../../src/sim/events.js'
import { createStandInRouter } from './stand-in-router.js'
import { itIf, needsFile } from '../support/requirements.js'

const dir = mkdtempSync(join(tmpdir(), 'overpass-sim-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

const CSV = 'src,dst,rtt_ms\na,b,100\nb,a,100\na,c,30\nc,a,30\nb,c,40\nc,b,40\na,d,20\nd,b,20\n'

function run(opts: Parameters<typeof runSim>[0]): { code: number; out: string; err: string } {
  let out = ''
  let err = ''
  const code = runSim(opts, createStandInRouter, (s) => (out += s), (s) => (err += s))
  return { code, out, err }
}

describe('overpass sim', () => {
  it('prints one JSON object with the scored fields', () => {
    const r = run({ matrix: file('m.csv', CSV), durationS: '3', json: true, seed: '2' })
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j).toMatchObject({ relays: 4, seed: 2, within_tolerance: 1, asymmetry: 0 })
    for (const k of ['pairs', 'mean_improvement_pct', 'median_improvement_pct', 'p90_improvement_pct', 'oracle_mean_improvement_pct', 'reverse_paths_differ']) {
      expect(j).toHaveProperty(k)
    }
    // a->b direct is 50 ms one way; a->d->b is 20 ms.
    expect(j.mean_improvement_pct).toBeGreaterThan(0)
  })

  it('prints a human summary and notes pairs without a link', () => {
    const r = run({ matrix: file('m2.csv', CSV), durationS: '2', events: file('e.yaml', '- { at_s: 1, kind: cut, from: d, to: b }\n') })
    expect(r.code).toBe(0)
    expect(r.out).toContain('within tolerance of the oracle')
    expect(r.out).toContain('event cut d -> b at 1 s')
    expect(r.err).toContain('1 site pairs have no row either way')
  })

  it('exits 2 naming line and column of a bad row', () => {
    const r = run({ matrix: file('bad.csv', 'src,dst,rtt_ms\na,b,1\na,c,x\n') })
    expect(r.code).toBe(2)
    expect(r.err).toContain('bad.csv:3 column 3 (rtt_ms)')
  })

  it('exits 2 on bad options and unknown sites', () => {
    expect(run({ matrix: file('m3.csv', CSV), asymmetry: '2' }).err).toContain('--asymmetry')
    expect(run({ matrix: file('m4.csv', CSV), sites: 'a,zz' }).err).toContain('unknown site "zz"')
    expect(run({ matrix: join(dir, 'missing.csv') }).code).toBe(2)
  })
})

const BIN = new URL('../../bin/overpass.js', import.meta.url).pathname
const BUILT_WORKER = new URL('../../dist/src/sim/worker.js', import.meta.url).pathname

describe('overpass sim --workers (the built CLI; npm test builds first)', () => {
  itIf(needsFile(BUILT_WORKER, 'the built simulator worker (npm run build)'), 'prints the same JSON from one loop and from a worker thread', () => {
    // Two clusters (a*, b*) 2-8 ms inside and 30-45 ms apart: a 30 ms lookahead.
    const rng = (i: number) => ((i * 2654435761) % 1000) / 1000
    const rows = ['src,dst,one_way_ms']
    const names = [...'abcdef'].flatMap((c) => [`a${c}`, `b${c}`])
    names.forEach((x, i) =>
      names.forEach((y, j) => {
        if (i !== j) rows.push(`${x},${y},${(x[0] === y[0] ? 2 + 6 * rng(i * 12 + j) : 30 + 15 * rng(i * 12 + j)).toFixed(3)}`)
      }),
    )
    const m = file('two.csv', rows.join('\n') + '\n')
    const ev = file('two.yaml', '- { at_s: 1.5, kind: cut, pick: active }\n- { at_s: 2.5, kind: restore, pick: previous }\n')
    const run = (w: string) =>
      execFileSync(process.execPath, [BIN, 'sim', '--matrix', m, '--events', ev, '--duration-s', '4', '--asymmetry', '0.2', '--jitter-ms', '1', '--json', '--workers', w], {
        encoding: 'utf8',
        timeout: 60_000,
      })
    const one = run('1')
    expect(JSON.parse(one)).toMatchObject({ relays: 12, pairs: 132 })
    expect(JSON.parse(one).events).toHaveLength(2)
    expect(run('2')).toBe(one)
  })

  it('rejects --workers 3', () => {
    expect(run({ matrix: file('m5.csv', CSV), workers: '3' }).err).toContain('--workers')
  })
})

describe('parseEvents', () => {
  it('reads JSON and YAML, sorted by time', () => {
    const e = parseEvents('{"events":[{"at_s":5,"kind":"restore","pick":"previous"},{"at_s":1,"kind":"degrade","from":"a","to":"b","add_ms":5}]}')
    expect(e.map((x) => x.atS)).toEqual([1, 5])
    expect(e[0]).toMatchObject({ kind: 'degrade', from: 'a', to: 'b', addMs: 5, both: false })
  })

  it('names the bad entry', () => {
    const bad = (text: string) => {
      try {
        parseEvents(text, 'ev.yaml')
      } catch (err) {
        return err as Error & { index?: number }
      }
      throw new Error('expected EventsParseError')
    }
    expect(bad('- { at_s: 1, kind: cut, from: a }').message).toContain('event[0]: give both "from" and "to"')
    expect(bad('- { at_s: 1, kind: cut, pick: active }\n- { at_s: 2, kind: degrade, pick: active }').index).toBe(1)
    expect(bad('- { at_s: 1, kind: cut, pick: active, factor: 2 }').message).toContain('only apply to degrade')
    expect(bad('- { at_s: 1, kind: explode, pick: active }').name).toBe('EventsParseError')
    expect(bad('just text').message).toContain('expected a list')
  })
})
