/**
 * Relay name -> this relay's index for that name, as one shared Map lookup
 * plus one small typed-array read.
 *
 * Every probe and map entry names its relay by string, and each relay keeps
 * the names in its own order. With a Map per relay, a lookup reads one of
 * hundreds of cold hash tables (in the simulator, with 246 relays in one
 * process, it was a third of the prober's time). Instead each distinct name
 * gets a process-wide id once, in one shared Map that stays in cache, and
 * each RelayIndex maps ids to its own indices in an Int32Array.
 *
 * Indices built from the same list share one table (the simulator builds
 * one per relay, all from the same list: one hot 1 KB table instead of 246
 * cold ones). The table is never written after it is built.
 *
 * The shared id map only grows when a RelayIndex is built (lookups never
 * add names), so it holds the names of the relay lists configured in this
 * process. Safe for the single JS thread only.
 */

const SHARED_IDS = new Map<string, number>()
/** Tables of the most recently built lists, by list (as JSON: injective). */
const TABLES = new Map<string, Int32Array>()
const MAX_TABLES = 8

function sharedId(name: string): number {
  let id = SHARED_IDS.get(name)
  if (id === undefined) {
    id = SHARED_IDS.size
    SHARED_IDS.set(name, id)
  }
  return id
}

/** What the route code needs of a name index (a Map<string, number> also fits). */
export interface NameIndex {
  readonly size: number
  get(name: string): number | undefined
}

export class RelayIndex implements NameIndex {
  /** Distinct names. */
  readonly size: number
  /** shared id -> index, -1 where this list does not hold the name. */
  private readonly local: Int32Array

  /** Like `new Map(names.map((r, i) => [r, i]))`: a repeated name maps to its last index. */
  constructor(names: readonly string[]) {
    this.local = tableOf(names)
    this.size = new Set(names).size
  }

  get(name: string): number | undefined {
    const id = SHARED_IDS.get(name)
    if (id === undefined || id >= this.local.length) return undefined
    const i = this.local[id]
    return i < 0 ? undefined : i
  }

  has(name: string): boolean {
    return this.get(name) !== undefined
  }
}

function tableOf(names: readonly string[]): Int32Array {
  const key = JSON.stringify(names)
  const hit = TABLES.get(key)
  if (hit !== undefined) return hit
  const ids = names.map(sharedId)
  let max = -1
  for (const id of ids) if (id > max) max = id
  const t = new Int32Array(max + 1).fill(-1)
  ids.forEach((id, i) => (t[id] = i))
  if (TABLES.size >= MAX_TABLES) TABLES.delete(TABLES.keys().next().value!)
  TABLES.set(key, t)
  return t
}
