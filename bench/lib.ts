/**
 * Shared benchmark harness. Every suite names a baseline case that runs in the
 * same process, and results are printed as a ratio against it, because the
 * machines here are shared and absolute ops/s drift from run to run.
 */
import b from 'benny'

export interface BenchCase {
  name: string
  fn: () => unknown
}

export interface SuiteResult {
  suite: string
  baseline: string
  cases: { name: string; opsPerSec: number; ratioToBaseline: number; nsPerOp: number }[]
}

const results: SuiteResult[] = []

export function allResults(): SuiteResult[] {
  return results
}

/** Runs `cases` (the first one is the baseline) and records ops/s and ratios. */
export async function ratioSuite(suite: string, cases: BenchCase[], opts: { maxTime?: number } = {}): Promise<SuiteResult> {
  const baseline = cases[0].name
  const summary = await b.suite(
    suite,
    ...cases.map((c) => b.add(c.name, c.fn, { maxTime: opts.maxTime ?? 1, minSamples: 5 })),
  )
  const ops = new Map(summary.results.map((r) => [r.name, r.ops]))
  const base = ops.get(baseline) ?? 1
  const res: SuiteResult = {
    suite,
    baseline,
    cases: cases.map((c) => {
      const o = ops.get(c.name) ?? 0
      return { name: c.name, opsPerSec: o, ratioToBaseline: o / base, nsPerOp: o > 0 ? 1e9 / o : Infinity }
    }),
  }
  results.push(res)
  console.log(`\n  ${suite} (ratio = ops/s against "${baseline}" in this run)`)
  for (const c of res.cases) {
    console.log(`    ${c.name.padEnd(44)} ${c.nsPerOp.toFixed(0).padStart(9)} ns/op  x${c.ratioToBaseline.toFixed(2)}`)
  }
  return res
}
