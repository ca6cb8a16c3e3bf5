/**
 * The tc-netem form of the emulated WAN, as plain `tc` argument lists (no
 * I/O here, so it is unit-tested on kernels without netem).
 *
 * The lab's WAN is a star: every PoP and every origin hangs off the `wan`
 * router on one veth. A packet's delay depends on its (source position,
 * destination position) pair, and everything leaving the wan router on the
 * veth towards position D is headed for D. So each such veth gets:
 *
 *   root htb 1:  (unclassified traffic bypasses, i.e. `default 0`)
 *     class 1:<S+1> per source position S ≠ D, rate far above any lab load
 *       netem <S+0x100>: delay, jitter, loss of the directed link S → D
 *     u32 filters: ip src <each /24 whose WAN position is S> → class 1:<S+1>
 *
 * Jitter: the user-space emulator adds an exponential extra delay of mean
 * J and keeps each direction FIFO. netem's uniform jitter is set to the
 * same mean and floor (delay D+J, jitter ±J, so [D, D+2J]); netem can
 * reorder packets closer together than the jitter, the emulator cannot.
 */
import { subnetIndex, type AddressPlan } from '../topo/addressing.js'
import type { LinkState } from '../scenario/index.js'
import { linkParams } from '../emulator/link-table.js'

export interface NetemIface {
  /** wan-namespace interface name (p<i> or o<m>). */
  dev: string
  /** WAN position (PoP index) of everything behind this interface. */
  position: number
}

export interface NetemLayout {
  pops: readonly string[]
  ifaces: NetemIface[]
  /** Per source position: the /24 prefixes whose WAN position it is. */
  sources: Map<number, string[]>
}

/** Which wan-namespace veth faces which WAN position, and which /24s sit at each position. */
export function netemLayout(plan: AddressPlan, pops: readonly string[]): NetemLayout {
  const positionOf = new Map(plan.positions.map((p) => [p.subnet, p.pop]))
  const ifaces: NetemIface[] = []
  for (const v of plan.veths) {
    if (v.a !== 'wan') continue
    const pos = positionOf.get(subnetOfCidr(v.aAddr))
    if (pos !== undefined) ifaces.push({ dev: v.aIf, position: pos })
  }
  const sources = new Map<number, string[]>()
  for (const p of plan.positions) {
    const list = sources.get(p.pop) ?? []
    list.push(prefixOfSubnet(p.subnet))
    sources.set(p.pop, list)
  }
  return { pops, ifaces, sources }
}

/** Every tc command that builds the WAN from the links' current state. */
export function netemSetup(layout: NetemLayout, link: (from: number, to: number) => LinkState): string[][] {
  const cmds: string[][] = []
  for (const { dev, position: dst } of layout.ifaces) {
    cmds.push(['qdisc', 'replace', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '0'])
    for (const [src, prefixes] of layout.sources) {
      if (src === dst) continue
      cmds.push(['class', 'add', 'dev', dev, 'parent', '1:', 'classid', classId(src), 'htb', 'rate', '10gbit'])
      cmds.push(['qdisc', 'add', 'dev', dev, 'parent', classId(src), 'handle', netemHandle(src), 'netem', ...netemArgs(link(src, dst))])
      for (const prefix of prefixes) {
        cmds.push(['filter', 'add', 'dev', dev, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'src', prefix, 'flowid', classId(src)])
      }
    }
  }
  return cmds
}

/** The tc commands that give directed link `from` → `to` a new state (one per veth facing `to`). */
export function netemChange(layout: NetemLayout, from: number, to: number, state: LinkState): string[][] {
  if (from === to) return []
  return layout.ifaces
    .filter((i) => i.position === to)
    .map((i) => ['qdisc', 'change', 'dev', i.dev, 'parent', classId(from), 'handle', netemHandle(from), 'netem', ...netemArgs(state)])
}

/**
 * netem parameters for one link state; a cut is 100% loss. Bursty loss is
 * netem's own Gilbert-Elliott model, `loss gemodel p r 1-h 1-k` (percent:
 * good->bad, bad->good, loss in the bad state, loss in the good state),
 * with the chain the emulator would use (emulator/link-table.ts).
 */
export function netemArgs(s: LinkState): string[] {
  const args = s.jitterMs > 0 ? ['delay', ms(s.delayMs + s.jitterMs), ms(s.jitterMs)] : ['delay', ms(s.delayMs)]
  const ge = s.down ? undefined : linkParams(s).gilbertElliott
  const lossPct = s.down ? 100 : s.lossPct
  if (ge !== undefined) args.push('loss', 'gemodel', pct(ge.toBad * 100), pct(ge.toGood * 100), pct(ge.lossBadPct ?? 100), pct(ge.lossGoodPct ?? 0))
  else if (lossPct > 0) args.push('loss', `${round(lossPct)}%`)
  // The default queue (1000 packets) would drop at high rate × long delay before the link does.
  args.push('limit', '100000')
  return args
}

// tc parses class and handle numbers as hex.
const classId = (position: number): string => `1:${(position + 1).toString(16)}`
const netemHandle = (position: number): string => `${(position + 0x100).toString(16)}:`
const ms = (v: number): string => `${round(v)}ms`
const round = (v: number): string => String(Math.round(v * 1000) / 1000)
/** netem reads probabilities as 32-bit fractions; more than 4 decimals of a percent is noise. */
const pct = (v: number): string => `${Math.round(v * 10_000) / 10_000}%`

/** "198.18.3.1/24" → the address plan's /24 index (see subnetIndex). */
function subnetOfCidr(cidr: string): number {
  const [a, b, c] = cidr.split('/')[0].split('.').map(Number)
  return subnetIndex(a, b, c)
}

function prefixOfSubnet(subnet: number): string {
  return subnet >= 0x100 ? `198.19.${subnet - 0x100}.0/24` : `198.18.${subnet}.0/24`
}
