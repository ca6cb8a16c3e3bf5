/**
 * Imports run one way between src/ folders: the folder graph matches the
 * allowed-dependency table below, and the table has no cycle. A new edge
 * that is not in the table fails here, naming the file that makes it;
 * adding it to the table is a design decision (docs/architecture.md).
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { findCycle, folderEdges } from './import-graph.js'

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src')

/** Which folders each src/ folder may import, lowest layers first. */
const ALLOWED: Record<string, string[]> = {
  wire: [],
  io: [],
  l3: ['wire'],
  crypto: ['wire'],
  probe: ['wire'],
  origin: ['l3', 'probe', 'wire'],
  route: ['probe', 'wire'],
  config: ['crypto', 'l3', 'probe', 'route', 'wire'],
  rollout: ['config', 'crypto'],
  dataplane: ['config', 'crypto', 'io', 'l3', 'wire'],
  control: ['config', 'dataplane', 'io', 'origin', 'rollout', 'route', 'wire'],
  node: ['config', 'control', 'crypto', 'dataplane', 'io', 'route'],
  metrics: ['config', 'control', 'dataplane', 'io', 'route'],
  daemon: ['config', 'control', 'crypto', 'dataplane', 'io', 'metrics', 'node', 'rollout', 'route'],
  sim: ['io', 'probe', 'route', 'wire'],
  cli: ['config', 'crypto', 'daemon', 'dataplane', 'io', 'l3', 'origin', 'route', 'sim'],
}

/** Folders not checked (none now: the test bed moved to lab/, and nothing in src/ imports it). */
const UNCHECKED = new Set<string>()

describe('imports between src/ folders', () => {
  const edges = folderEdges(SRC).filter((e) => !UNCHECKED.has(e.from))

  it('follow the allowed-dependency table, and nothing outside src/ is imported', () => {
    const unexpected = edges.filter((e) => !(ALLOWED[e.from] ?? []).includes(e.to)).map((e) => `${e.from} -> ${e.to} (${e.file})`)
    expect(unexpected).toEqual([])
  })

  it('form no cycle (the table itself is acyclic)', () => {
    expect(findCycle(new Map(Object.entries(ALLOWED)))).toBeUndefined()
  })

  it('list every folder of src/ in the table', () => {
    const folders = new Set(edges.flatMap((e) => [e.from, e.to]).filter((f) => !f.startsWith('..') && !UNCHECKED.has(f)))
    expect([...folders].filter((f) => !(f in ALLOWED))).toEqual([])
  })

  it('the checker finds a cycle when there is one (route -> probe -> route)', () => {
    expect(findCycle(new Map([['route', ['probe']], ['probe', ['route']]]))).toEqual(['route', 'probe', 'route'])
  })
})
