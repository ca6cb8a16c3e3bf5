/**
 * The WAN emulator process, run inside a lab run's `wan` namespace:
 *
 *   node dist/lab/emulator/main.js --scenario FILE --run-dir DIR
 *
 * 1. opens TUN `emu0` and makes it the only route of table 100, which the
 *    policy rules (topo/build.ts) select for every packet entering from a
 *    PoP or origin veth;
 * 2. per packet: finds the source and destination WAN positions from the
 *    /24 of each address, asks the LinkTable for a release time (or drop),
 *    and queues a copy;
 * 3. writes each packet back into the TUN at its release time; the kernel
 *    forwards it out of the right veth (main table, since iif is the TUN).
 *
 * Control socket DIR/emulator.sock: see wan/control.ts (the netem backend
 * serves the same one).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { openTun, configureTun } from '../../src/io/tun.js'
import { openPreciseTimer, preciseTimerAvailable } from '../../src/io/precise-timer.js'
import { loadScenario } from '../scenario/index.js'
import { planAddresses } from '../topo/addressing.js'
import { EMULATOR_TABLE } from '../topo/build.js'
import { run as sh } from '../topo/sh.js'
import { DelayStats } from './delay-stats.js'
import { DROP, LinkTable } from './link-table.js'
import { PacketQueue } from './packet-queue.js'
import { ReleaseScheduler, spinWaker, type WakerFactory } from './scheduler.js'
import { serveWanControl, wanControlSocket } from '../wan/control.js'
import { argValue } from '../topo/argv.js'

export const EMULATOR_TUN = 'emu0'

async function main(): Promise<void> {
  const scenario = loadScenario(argValue('--scenario'))
  const runDir = argValue('--run-dir')
  const plan = planAddresses(scenario)
  const position = new Int16Array(512).fill(-1)
  for (const p of plan.positions) position[p.subnet] = p.pop

  const table = new LinkTable(scenario.pops, scenario.links)
  const queue = new PacketQueue()
  const stats = new DelayStats()
  // performance.now() is cheap and monotonic; event times use CLOCK_MONOTONIC (wan/control.ts).
  const now = (): number => performance.now()
  const tun = openTun(EMULATOR_TUN)
  configureTun(EMULATOR_TUN, { mtu: 1500 })
  sh('ip', ['route', 'replace', 'default', 'dev', EMULATOR_TUN, 'table', String(EMULATOR_TABLE)])
  // A timerfd wakes the release loop on time without spinning (scheduler.ts says why that matters).
  // OVERPASS_LAB_EMU_WAKER=spin forces the fallback (to compare; docs/lab.md).
  const timerCheck = process.env.OVERPASS_LAB_EMU_WAKER === 'spin' ? { ok: false, reason: 'OVERPASS_LAB_EMU_WAKER=spin' } : preciseTimerAvailable()
  const waker: WakerFactory = timerCheck.ok ? openPreciseTimer : spinWaker(now)
  if (!timerCheck.ok) process.stderr.write(`emulator: ${timerCheck.reason}; falling back to spinning (expect RT throttling stalls)\n`)
  const scheduler = new ReleaseScheduler(queue, (b, o, l) => tun.write(b, o, l), stats, now, waker)
  const counts = { unknown: 0, local: 0 }
  // Event-loop stalls (GC, CPU starvation) are the main source of delay error; report them.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 })
  loopDelay.enable()

  tun.onPacket((pkt) => {
    const t = now()
    if (pkt.length < 20 || pkt[0] >> 4 !== 4 || pkt[12] !== 198 || pkt[16] !== 198) {
      counts.unknown++
      tun.write(pkt, 0, pkt.length)
      return
    }
    const src = (pkt[13] & 1) === 1 ? position[0x100 + pkt[14]] : position[pkt[14]]
    const dst = (pkt[17] & 1) === 1 ? position[0x100 + pkt[18]] : position[pkt[18]]
    let due = t
    if (src < 0 || dst < 0) counts.unknown++
    else if (src === dst) counts.local++
    else due = table.decide(src, dst, t)
    if (due === DROP) return
    if (queue.push(pkt, pkt.length, t, due)) scheduler.kick()
  })

  const control = await serveWanControl(wanControlSocket(runDir), {
    apply: (e) => table.apply(e),
    stats: () => ({ backend: 'emulator', waker: timerCheck.ok ? 'timerfd' : 'spin', delay_error: stats.summary(), queued: queue.length, overflows: queue.overflows, write_failures: scheduler.writeFailures, ...counts, tun: tun.stats, loop_delay_max_ms: loopDelay.max / 1e6, loop_delay_p99_ms: loopDelay.percentile(99) / 1e6 }),
    reset: () => {
      stats.reset()
      loopDelay.reset()
    },
  }, scenario.events)
  const stop = (): void => {
    scheduler.stop()
    control.close()
    tun.close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.stdout.write(`emulator ready: ${scenario.pops.length} PoPs, ${scenario.links.length} directions\n`)
}

main().catch((err) => {
  process.stderr.write(`emulator failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
