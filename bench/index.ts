/**
 * `npm run bench`: runs every microbenchmark suite in one process and prints
 * ratios against each suite's baseline. `--json` prints all results as JSON
 * at the end; `--only NAME` runs the suites whose module name contains NAME.
 */
import { allResults } from './lib.js'

const suites: { name: string; load: () => Promise<{ run: () => Promise<void> }> }[] = [
  { name: 'sim', load: () => import('./sim.bench.js') },
  { name: 'crypto', load: () => import('./crypto.bench.js') },
  { name: 'wire', load: () => import('./wire.bench.js') },
  { name: 'route', load: () => import('./route.bench.js') },
  { name: 'dataplane', load: () => import('./dataplane.bench.js') },
  { name: 'tun', load: () => import('./tun.bench.js') },
  { name: 'l3', load: () => import('./l3.bench.js') },
]

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
  for (const s of suites) {
    if (only && !s.name.includes(only)) continue
    const mod = await s.load()
    await mod.run()
  }
  if (args.includes('--json')) console.log(JSON.stringify(allResults(), null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
