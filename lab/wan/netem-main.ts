/**
 * The tc-netem WAN backend, run inside a lab run's `wan` namespace where the
 * kernel has netem:
 *
 *   node dist/lab/wan/netem-main.js --scenario FILE --run-dir DIR
 *
 * It builds the per-direction netem qdiscs of netem-plan.ts once, then only
 * changes one qdisc per event. The kernel does the delaying, so nothing in
 * user space sits on the packet path and there is no delay error of ours to
 * report (stats say samples: 0). It serves the same control socket as the
 * user-space emulator.
 */
import { loadScenario } from '../scenario/index.js'
import { planAddresses } from '../topo/addressing.js'
import { run as sh } from '../topo/sh.js'
import { LinkTable } from '../emulator/link-table.js'
import { serveWanControl, wanControlSocket } from './control.js'
import { netemChange, netemLayout, netemSetup } from './netem-plan.js'
import { argValue } from '../topo/argv.js'

async function main(): Promise<void> {
  const scenario = loadScenario(argValue('--scenario'))
  const runDir = argValue('--run-dir')
  const layout = netemLayout(planAddresses(scenario), scenario.pops)
  // The LinkTable only tracks each direction's current state here; netem decides per packet.
  const table = new LinkTable(scenario.pops, scenario.links)
  const stateOf = (from: number, to: number) => table.get(scenario.pops[from], scenario.pops[to])
  const tc = (args: string[]): void => void sh('tc', args)
  for (const cmd of netemSetup(layout, stateOf)) tc(cmd)
  let tcFailures = 0
  const control = await serveWanControl(wanControlSocket(runDir), {
    apply: (e) => {
      table.apply(e)
      const from = scenario.pops.indexOf(e.from)
      const to = scenario.pops.indexOf(e.to)
      for (const cmd of netemChange(layout, from, to, stateOf(from, to))) {
        try {
          tc(cmd)
        } catch (err) {
          tcFailures++
          process.stderr.write(`${(err as Error).message}\n`)
        }
      }
    },
    stats: () => ({ backend: 'netem', delay_error: { samples: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 }, tc_failures: tcFailures }),
    reset: () => {},
  }, scenario.events)
  const stop = (): void => {
    control.close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.stdout.write(`netem WAN ready: ${scenario.pops.length} PoPs, ${layout.ifaces.length} interfaces\n`)
}

main().catch((err) => {
  process.stderr.write(`netem WAN failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
