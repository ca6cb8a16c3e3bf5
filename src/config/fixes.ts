/**
 * What to write for each field, keyed by its index-free path
 * (`services[].ingress[].listen`). Every issue about a field quotes this, so
 * the advice is written once and stays consistent across error kinds.
 */
import { MAX_MAX_FLOWS, MAX_PATH_RELAYS, MAX_PROBE_INTERVAL_MS, MAX_WORKERS } from './schema.js'

const hostPort = (example: string) => `use host:port with an IP address, e.g. ${example} (quote IPv6: "[::1]:7001")`
const relayId = 'use this relay\'s id or the id of a listed peer'
const idFix = (example: string) =>
  `use 1-32 characters from a-z, 0-9, "-" and "_", starting with a letter or digit, e.g. ${example}`
const duration = (example: string) => `use a number with a unit (ms, s, m, h), e.g. ${example}`
const durationIn = (range: string, example: string) => `use a duration from ${range} with a unit, e.g. ${example}`
const path = `use a list of relay ids from ingress to exit, at most ${MAX_PATH_RELAYS}, e.g. [lax, sea, dal]`
const replyPath = `use a list of relay ids from exit to ingress, at most ${MAX_PATH_RELAYS}, e.g. [dal, sea, lax]`

export const FIELD_FIXES: Record<string, string> = {
  '': 'write a YAML mapping with `relay:`, `peers:`, `services:` and optionally `tuning:`, `routing:`, `l3:` and `metrics:`',
  relay: 'add a `relay:` section with id, listen and private_key (or private_key_file)',
  'relay.id': idFix('lax'),
  'relay.private_key': 'paste the private_key line printed by `overpass keygen`',
  'relay.private_key_file': 'give the path of a file holding the base64 private key, e.g. ./lax.key',
  'relay.listen': hostPort('127.0.0.1:7001'),
  'relay.control_socket': 'use a file path for the unix socket, e.g. /run/overpass/lax.sock',
  'relay.state_file': 'use a file path in a folder the relay can write, e.g. /var/lib/overpass/lax.state.json',
  'relay.mtu': 'use a whole number of bytes from 1280 to 9000, e.g. 1500',
  'relay.workers': `use a whole number of workers from 1 to ${MAX_WORKERS}, at most one per CPU, e.g. 2 (L3 relays: 1)`,
  peers: 'use a list of peers, each with id, public_key, sign_key and endpoint',
  'peers[]': 'write each peer as a mapping with id, public_key, sign_key and endpoint',
  'peers[].id': idFix('sea'),
  'peers[].public_key': "paste that relay's public key (`overpass pubkey` prints it from its private key)",
  'peers[].sign_key': "paste that relay's sign_key (`overpass keygen` prints it; `overpass pubkey --sign` prints it from its private key)",
  'peers[].endpoint': hostPort('127.0.0.1:7002'),
  'peers[].endpoints': 'use a list of 1 to 4 addresses, e.g. [203.0.113.7:7002, "[2001:db8::7]:7002"]',
  services: 'use a list of services, each with name, ingress, origin and exits',
  'services[]': 'write each service as a mapping with name, ingress, origin and exits',
  'services[].name': idFix('game'),
  'services[].mode': 'use l4 (UDP to an origin) or l3 (IP packets to prefixes, needs `prefixes:`)',
  'services[].prefixes': 'list the destination prefixes this l3 service carries, e.g. [10.200.0.0/24, "fd00:200::/64"]',
  'services[].prefixes[]': 'use address/length with the host bits zero, e.g. 10.200.0.0/24 or "fd00:200::/64"',
  l3: 'use a mapping with tun (and optionally mtu, oversize_without_df, clamp_mss, address), or leave it out',
  metrics: 'use a mapping with listen (and optionally status_page), or leave it out',
  'metrics.listen': 'use host:port with an IP address for the HTTP listener, e.g. 127.0.0.1:9469 (quote IPv6: "[::1]:9469")',
  'metrics.status_page': 'use true to also serve the status page at / on the same listener, or false (the default)',
  'l3.tun': 'use an interface name of 1-15 characters, e.g. op3lax',
  'l3.mtu': 'use auto, or a whole number of bytes no larger than the derived maximum (docs/l3-mode.md)',
  'l3.oversize_without_df': 'use fragment or drop',
  'l3.clamp_mss': 'use true (the default) or false',
  'l3.address': 'use address/length, e.g. 10.255.0.1/32, or a list with one IPv4 and one IPv6 address',
  'l3.address[]': 'use address/length, e.g. 10.255.0.1/32 or "fd00:255::1/128"',
  'services[].ingress': 'list at least one ingress, e.g. `- relay: lax` with `listen: 0.0.0.0:27015`',
  'services[].ingress[]': 'write each ingress as a mapping with relay and listen',
  'services[].ingress[].relay': relayId,
  'services[].ingress[].listen': hostPort('0.0.0.0:27015'),
  'services[].origin': hostPort('127.0.0.1:9000'),
  'services[].exits': 'list at least one exit relay id, e.g. [dal]',
  'services[].exits[]': relayId,
  'services[].delivery': 'use proxy or proxy-protocol',
  'services[].paths': `use a list of paths, e.g. [[lax, sea, dal]]`,
  'services[].paths[]': path,
  'services[].paths[][]': relayId,
  'services[].reply_paths': `use a list of paths, e.g. [[dal, sea, lax]], or leave it out to reverse the forward paths`,
  'services[].reply_paths[]': replyPath,
  'services[].reply_paths[][]': relayId,
  'services[].flow_idle_timeout': duration('30s'),
  'services[].max_flows': `use a whole number from 1 to ${MAX_MAX_FLOWS}, e.g. 65536`,
  'services[].max_flows_per_prefix': `use a whole number from 1 to ${MAX_MAX_FLOWS}, e.g. 4096`,
  'services[].profile': 'use latency (delay only), gaming (delay + jitter) or rtc (delay + jitter + loss)',
  'services[].redundant': 'use true to send over two edge-disjoint paths, or false',
  'services[].fallback': 'use direct (with no overlay path, the ingress sends straight to the origin) or none',
  'services[].origin_probe': 'use a mapping with method (twamp, icmp or none), or leave it out for method: none',
  'services[].origin_probe.method': 'use twamp (needs a reflector on the origin host), icmp (needs CAP_NET_RAW) or none',
  'services[].origin_probe.port': 'use the TWAMP reflector\'s UDP port, e.g. 862',
  'services[].origin_probe.interval': durationIn('10ms to 10s', '250ms'),
  'services[].origin_probe.assumed_rtt': durationIn('0ms to 10s', '1ms'),
  routing: 'use a mapping with probe_interval, loss_down_after, hop_cost, max_loss and flood_interval, or leave it out',
  'routing.probe_interval': durationIn(`10ms to ${MAX_PROBE_INTERVAL_MS}ms`, '100ms'),
  'routing.loss_down_after': 'use a whole number of missed probes from 1 to 20, e.g. 3',
  'routing.hop_cost': durationIn('0ms to 1s', '0ms'),
  'routing.max_loss': 'use a percentage from 0% to 100%, e.g. 5%',
  'routing.flood_interval': durationIn('100ms to 60s', '1s'),
  tuning: 'use a mapping with rekey_after, rekey_after_packets and hop_limit, or leave it out',
  'tuning.rekey_after': duration('120s'),
  'tuning.rekey_after_packets': 'use a whole number of packets, e.g. 1099511627776',
  'tuning.hop_limit': 'use a whole number from 1 to 255, e.g. 8',
}

/** 'services[0].ingress[1].listen' → 'services[].ingress[].listen' */
export function fieldPattern(path: string): string {
  return path.replace(/\[\d+\]/g, '[]')
}

export function fixFor(path: string): string {
  return FIELD_FIXES[fieldPattern(path)] ?? 'see docs/configuration.md'
}
