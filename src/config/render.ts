/**
 * Writes relay config files: the inverse of the loader, for tools that
 * generate a whole network (the demo, the lab, tests). Output is the same
 * YAML an operator would write by hand and passes `overpass check`.
 */
import { stringify } from 'yaml'
import { encodeKey, publicKeyOf, signPublicKeyOf } from './values.js'

export interface RenderPeer {
  id: string
  publicKey: string
  /** The peer's `sign_key` (renderPeerKeys fills both keys from its private key). */
  signKey: string
  endpoint: string
}

/** The two keys a peer entry lists for the relay with this X25519 private key. */
export function renderPeerKeys(privateKey: Uint8Array): { publicKey: string; signKey: string } {
  return { publicKey: encodeKey(publicKeyOf(privateKey)), signKey: encodeKey(signPublicKeyOf(privateKey)) }
}

/** An L4 service (mode defaults to l4), or an L3 one with `mode: 'l3'` and `prefixes` instead of ingress/origin. */
export interface RenderService {
  name: string
  mode?: 'l4' | 'l3'
  /** L4 only. */
  ingress?: { relay: string; listen: string }[]
  /** L4 only. */
  origin?: string
  /** L3 only: destination prefixes, e.g. ['10.200.0.0/24', 'fd00:200::/64']. */
  prefixes?: string[]
  exits: string[]
  delivery?: 'proxy' | 'proxy-protocol'
  paths?: string[][]
  reply_paths?: string[][]
  flow_idle_timeout?: string
  max_flows?: number
  max_flows_per_prefix?: number
  [extra: string]: unknown
}

export interface RenderRelay {
  id: string
  privateKey: string
  listen: string
  controlSocket: string
  mtu?: number
  /** relay.workers; omitted when 1. */
  workers?: number
  peers: RenderPeer[]
  services: RenderService[]
  tuning?: Record<string, unknown>
  /** The relay's TUN for L3 services (written as the `l3:` section). */
  l3?: RenderL3
  /** Extra top-level sections (e.g. routing), passed through as is. */
  extra?: Record<string, unknown>
}

export interface RenderL3 {
  tun: string
  /** 'auto' (default) or bytes. */
  mtu?: number | 'auto'
  oversize_without_df?: 'fragment' | 'drop'
  clamp_mss?: boolean
  /** e.g. '10.255.0.1/32', or one IPv4 and one IPv6 address. */
  address?: string | string[]
}

export function renderRelayYaml(r: RenderRelay, header = ''): string {
  const doc: Record<string, unknown> = {
    relay: { id: r.id, private_key: r.privateKey, listen: r.listen, control_socket: r.controlSocket, ...(r.mtu ? { mtu: r.mtu } : {}), ...(r.workers !== undefined && r.workers !== 1 ? { workers: r.workers } : {}) },
    peers: r.peers.map((p) => ({ id: p.id, public_key: p.publicKey, sign_key: p.signKey, endpoint: p.endpoint })),
    services: r.services.map((s) => (s.mode === 'l3' ? { ...s } : { mode: 'l4', delivery: 'proxy', ...s })),
    ...(r.tuning ? { tuning: r.tuning } : {}),
    ...(r.l3 ? { l3: { ...r.l3 } } : {}),
    ...(r.extra ?? {}),
  }
  const text = stringify(doc, { flowCollectionPadding: false })
  return header ? header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' + text : text
}
