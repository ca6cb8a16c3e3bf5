/**
 * Config files for a full mesh of relay processes on loopback (every relay a
 * peer of every other), rendered by src/config/render.ts. The one place the
 * integration tests build a relay's config, so each test says only what its
 * relays have that others' do not (services, workers, tuning, endpoints).
 */
import fs from 'node:fs'
import path from 'node:path'
import { renderPeerKeys, renderRelayYaml, type RenderService } from '../../src/config/render.js'
import { encodeKey, generateKeyPair, type KeyPair } from '../../src/crypto/index.js'

export interface LoopbackMesh<Id extends string = string> {
  /** Where each relay's `<id>.yaml` and control socket go. */
  dir: string
  ids: readonly Id[]
  keys: Record<Id, KeyPair>
  /** Each relay's overlay port on 127.0.0.1. */
  ports: Record<Id, number>
  services: RenderService[]
  /** Where `from` reaches `to` (a link emulator's port, say); by default 127.0.0.1 and `to`'s overlay port. */
  endpoint?: (from: Id, to: Id) => string
  workers?: number
  tuning?: Record<string, unknown>
  /** Extra top-level sections of one relay's config (e.g. metrics). */
  extra?: (id: Id) => Record<string, unknown>
}

/** A fresh key pair for each relay. */
export function meshKeys<Id extends string>(ids: readonly Id[]): Record<Id, KeyPair> {
  return Object.fromEntries(ids.map((id) => [id, generateKeyPair()])) as Record<Id, KeyPair>
}

/** The config file of relay `id` in `dir`. */
export function configPath(dir: string, id: string): string {
  return path.join(dir, `${id}.yaml`)
}

/** Relay `id`'s config, as YAML. */
export function meshRelayYaml<Id extends string>(mesh: LoopbackMesh<Id>, id: Id): string {
  const endpoint = mesh.endpoint ?? ((_from: Id, to: Id) => `127.0.0.1:${mesh.ports[to]}`)
  return renderRelayYaml({
    id,
    privateKey: encodeKey(mesh.keys[id].privateKey),
    listen: `127.0.0.1:${mesh.ports[id]}`,
    controlSocket: path.join(mesh.dir, `${id}.sock`),
    workers: mesh.workers,
    peers: mesh.ids.filter((x) => x !== id).map((x) => ({ id: x, ...renderPeerKeys(mesh.keys[x].privateKey), endpoint: endpoint(id, x) })),
    services: mesh.services,
    tuning: mesh.tuning,
    extra: mesh.extra?.(id),
  })
}

/**
 * Writes every relay's config file (owner-only: it holds the private key);
 * `edit` may rewrite one relay's YAML first, for what the renderer has no
 * field for.
 */
export function writeMeshConfigs<Id extends string>(mesh: LoopbackMesh<Id>, edit: (id: Id, yaml: string) => string = (_id, yaml) => yaml): void {
  for (const id of mesh.ids) fs.writeFileSync(configPath(mesh.dir, id), edit(id, meshRelayYaml(mesh, id)), { mode: 0o600 })
}
