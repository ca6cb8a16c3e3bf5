/**
 * Writes relay config files: the inverse of the loader, for tools that
 * generate a whole network (the demo, the lab, tests). Output is the same
 * YAML an operator would write by hand and passes `overpass check`.
 */
import { stringify } from 'yaml'

export interface RenderPeer {
  id: string
  publicKey: string
  endpoint: string
}

export interface RenderService {
  name: string
  ingress: { relay: string; listen: string }[]
  origin: string
  exits: string[]
  delivery?: 'proxy' | 'proxy-protocol'
  paths?: string[][]
  reply_paths?: string[][]
  flow_idle_timeout?: string
  max_flows?: number
  [extra: string]: unknown
}

export interface RenderRelay {
  id: string
  privateKey: string
  listen: string
  controlSocket: string
  mtu?: number
  peers: RenderPeer[]
  services: RenderService[]
  tuning?: Record<string, unknown>
  /** Extra top-level sections (e.g. routing), passed through as is. */
  extra?: Record<string, unknown>
}

export function renderRelayYaml(r: RenderRelay, header = ''): string {
  const doc: Record<string, unknown> = {
    relay: { id: r.id, private_key: r.privateKey, listen: r.listen, control_socket: r.controlSocket, ...(r.mtu ? { mtu: r.mtu } : {}) },
    peers: r.peers.map((p) => ({ id: p.id, public_key: p.publicKey, endpoint: p.endpoint })),
    services: r.services.map((s) => ({ mode: 'l4', delivery: 'proxy', ...s })),
    ...(r.tuning ? { tuning: r.tuning } : {}),
    ...(r.extra ?? {}),
  }
  const text = stringify(doc, { flowCollectionPadding: false })
  return header ? header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' + text : text
}
