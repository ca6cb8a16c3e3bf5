/**
 * The L3 TUN device of a relay with an `l3:` section: created with the
 * configured name, MTU and address, brought up, and closed (which deletes it)
 * when the daemon stops. Needs CAP_NET_ADMIN; without it openTun throws a
 * TunUnavailableError whose `fix` says what to do, and the daemon does not start.
 */
import { writeFileSync } from 'node:fs'
import type { L3Config } from '../config/types.js'
import type { Logger } from '../io/log.js'
import { configureTun, openTun, type LinuxTun } from '../io/tun.js'

export function openL3Tun(l3: L3Config, log: Logger): LinuxTun {
  const tun = openTun(l3.tun)
  try {
    configureTun(tun.name, { mtu: l3.mtu, addresses: l3.addresses.map((a) => a.text) })
  } catch (err) {
    tun.close()
    throw err
  }
  if (l3.addresses.some((a) => a.family === 4)) allowLocalSource(tun.name, log)
  tun.onError((err) => log.error('TUN read failed; L3 traffic stopped', { tun: tun.name, error: err.message }))
  log.info('l3 TUN up', { tun: tun.name, mtu: l3.mtu, max_mtu: l3.maxMtu, addresses: l3.addresses.map((a) => a.text) })
  return tun
}

/**
 * ICMP errors the relay writes into its TUN come from `l3.address`, which is
 * also a local address of this host; Linux drops a received packet with a
 * local source as a martian unless accept_local is set on the device. The
 * only other packets written into the TUN are exit deliveries, whose sources
 * the data plane has checked against the ingress's own sites
 * (dataplane/source-check.ts), so no remote host can send as this one.
 */
function allowLocalSource(name: string, log: Logger): void {
  try {
    writeFileSync(`/proc/sys/net/ipv4/conf/${name}/accept_local`, '1')
  } catch (err) {
    log.warn('cannot set accept_local on the TUN; ICMP errors from l3.address may be dropped by the kernel', { tun: name, error: (err as Error).message })
  }
}
