/**
 * The namespace line every system runs on:
 *
 *   cli ──k0── ing ──k1── tr ──k2── ex ──k3── org
 *   .1    .2   .1   .2   .1  .2   .1  .2
 *
 * Link k is 198.18.(base+k).0/24 (left end .1, right end .2); tunnel
 * addresses for wireguard-go are 198.19.base.0/24. Names and `base` are
 * per run, so two runs (or a crashed run's leftovers) never collide.
 *
 * Routing: cli's default route is ing, org's is ex, and tr always forwards
 * between k1 and k2 (the relays' full mesh). Whether ing and ex forward, and
 * what they route to the far subnets, is set per system (`useKernelRoutes`,
 * `useDevRoutes`) and undone by `clearSystemRoutes`, so a Node or Overpass
 * run cannot be bypassed by the kernel.
 */
import { nsRun, run, tryRun } from './shell.js'

export type Ns = 'cli' | 'ing' | 'tr' | 'ex' | 'org'
const NS: Ns[] = ['cli', 'ing', 'tr', 'ex', 'org']

export class NetnsLine {
  readonly tag: string
  readonly base: number
  private created: string[] = []
  private extraRoutes: { ns: Ns; dst: string }[] = []

  constructor() {
    this.tag = (process.pid % 46_656).toString(36).padStart(3, '0') + Math.floor(Math.random() * 36).toString(36)
    this.base = Math.floor(Math.random() * 60) * 4
  }

  name(ns: Ns): string {
    return `opb${this.tag}-${ns}`
  }

  /** Address of the left (.1) or right (.2) end of link k. */
  addr(k: number, end: 1 | 2): string {
    return `198.18.${this.base + k}.${end}`
  }

  subnet(k: number): string {
    return `198.18.${this.base + k}.0/24`
  }

  tunnelAddr(host: number): string {
    return `198.19.${this.base}.${host}`
  }

  create(): void {
    for (const ns of NS) {
      run('ip', ['netns', 'add', this.name(ns)])
      this.created.push(this.name(ns))
      this.sysctl(ns, 'net.ipv4.ip_forward', '0')
      this.sysctl(ns, 'net.ipv4.conf.all.rp_filter', '0')
      this.sysctl(ns, 'net.ipv4.conf.default.rp_filter', '0')
      nsRun(this.name(ns), 'ip', ['link', 'set', 'lo', 'up'])
    }
    for (let k = 0; k < 4; k++) {
      const left = this.name(NS[k])
      const right = this.name(NS[k + 1])
      const a = `opb${this.tag}k${k}a`
      const b = `opb${this.tag}k${k}b`
      run('ip', ['link', 'add', a, 'netns', left, 'type', 'veth', 'peer', 'name', b, 'netns', right])
      nsRun(left, 'ip', ['addr', 'add', `${this.addr(k, 1)}/24`, 'dev', a])
      nsRun(right, 'ip', ['addr', 'add', `${this.addr(k, 2)}/24`, 'dev', b])
      nsRun(left, 'ip', ['link', 'set', a, 'up'])
      nsRun(right, 'ip', ['link', 'set', b, 'up'])
    }
    nsRun(this.name('cli'), 'ip', ['route', 'add', 'default', 'via', this.addr(0, 2)])
    nsRun(this.name('org'), 'ip', ['route', 'add', 'default', 'via', this.addr(3, 1)])
    nsRun(this.name('ing'), 'ip', ['route', 'add', this.subnet(2), 'via', this.addr(1, 2)])
    nsRun(this.name('ex'), 'ip', ['route', 'add', this.subnet(1), 'via', this.addr(2, 1)])
    this.sysctl('tr', 'net.ipv4.ip_forward', '1')
  }

  sysctl(ns: Ns, key: string, value: string): void {
    nsRun(this.name(ns), 'sysctl', ['-qw', `${key}=${value}`])
  }

  /** Plain kernel forwarding end to end (the floor). */
  useKernelRoutes(): void {
    this.route('ing', this.subnet(3), ['via', this.addr(1, 2)])
    this.route('tr', this.subnet(3), ['via', this.addr(2, 2)])
    this.route('tr', this.subnet(0), ['via', this.addr(1, 1)])
    this.route('ex', this.subnet(0), ['via', this.addr(2, 1)])
    this.sysctl('ing', 'net.ipv4.ip_forward', '1')
    this.sysctl('ex', 'net.ipv4.ip_forward', '1')
  }

  /** Far subnets through tunnel devices (wireguard-go): ing→wgA, tr→wgB1/wgB2, ex→wgC. */
  useDevRoutes(dev: { ing: string; trToIng: string; trToEx: string; ex: string }): void {
    this.route('ing', this.subnet(3), ['dev', dev.ing])
    this.route('tr', this.subnet(3), ['dev', dev.trToEx])
    this.route('tr', this.subnet(0), ['dev', dev.trToIng])
    this.route('ex', this.subnet(0), ['dev', dev.ex])
    this.sysctl('ing', 'net.ipv4.ip_forward', '1')
    this.sysctl('ex', 'net.ipv4.ip_forward', '1')
  }

  clearSystemRoutes(): void {
    for (const r of this.extraRoutes) tryRun('ip', ['netns', 'exec', this.name(r.ns), 'ip', 'route', 'del', r.dst])
    this.extraRoutes = []
    this.sysctl('ing', 'net.ipv4.ip_forward', '0')
    this.sysctl('ex', 'net.ipv4.ip_forward', '0')
  }

  private route(ns: Ns, dst: string, how: string[]): void {
    nsRun(this.name(ns), 'ip', ['route', 'replace', dst, ...how])
    this.extraRoutes.push({ ns, dst })
  }

  /** Deletes every namespace this run created (their veths and tunnels go with them). */
  destroy(): void {
    for (const n of this.created) tryRun('ip', ['netns', 'del', n])
    this.created = []
  }
}
