/**
 * The events file: timed changes to directed links during a run. JSON or
 * YAML, either a list or `{ events: [...] }`. Each entry:
 *
 *   at_s: 20            # sim seconds from the start
 *   kind: cut           # cut | degrade | restore
 *   from: Paris         # directed edge from -> to ...
 *   to: London
 *   pick: active        # ... or instead of from/to: `active` (a random edge
 *                       #   that some relay's chosen path uses at that moment)
 *                       #   or `previous` (the edge of the previous event)
 *   both: true          # also apply to to -> from (default false)
 *   factor: 1.3         # degrade: multiply the base delay ...
 *   add_ms: 20          # ... and/or add this many ms
 *
 * `restore` puts the link back to its delay from the matrix.
 */
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { EventsParseError } from './errors.js'

export type SimEventKind = 'cut' | 'degrade' | 'restore'

export interface SimEvent {
  atS: number
  kind: SimEventKind
  from?: string
  to?: string
  pick?: 'active' | 'previous'
  both: boolean
  factor?: number
  addMs?: number
}

const EventSchema = z
  .object({
    at_s: z.number().nonnegative(),
    kind: z.enum(['cut', 'degrade', 'restore']),
    from: z.string().min(1).optional(),
    to: z.string().min(1).optional(),
    pick: z.enum(['active', 'previous']).optional(),
    both: z.boolean().optional(),
    factor: z.number().positive().optional(),
    add_ms: z.number().optional(),
  })
  .strict()

/** Parses an events file (JSON or YAML text); throws EventsParseError naming the entry. */
export function parseEvents(text: string, source = 'events'): SimEvent[] {
  let doc: unknown
  try {
    doc = parseYaml(text) // YAML is a superset of JSON, so one parser reads both.
  } catch (err) {
    throw new EventsParseError(source, undefined, `not valid JSON/YAML: ${(err as Error).message}`)
  }
  const list = Array.isArray(doc) ? doc : (doc as { events?: unknown } | null)?.events
  if (!Array.isArray(list)) throw new EventsParseError(source, undefined, 'expected a list of events or { events: [...] }')
  return list.map((raw, i) => toEvent(raw, i, source)).sort((a, b) => a.atS - b.atS)
}

function toEvent(raw: unknown, i: number, source: string): SimEvent {
  const r = EventSchema.safeParse(raw)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new EventsParseError(source, i, `${issue.path.join('.') || '(entry)'}: ${issue.message}`)
  }
  const e = r.data
  const named = e.from !== undefined || e.to !== undefined
  if (named && (e.from === undefined || e.to === undefined)) throw new EventsParseError(source, i, 'give both "from" and "to"')
  if (named === (e.pick !== undefined)) throw new EventsParseError(source, i, 'give either "from"/"to" or "pick"')
  if (e.kind === 'degrade' && e.factor === undefined && e.add_ms === undefined) {
    throw new EventsParseError(source, i, 'degrade needs "factor" and/or "add_ms"')
  }
  if (e.kind !== 'degrade' && (e.factor !== undefined || e.add_ms !== undefined)) {
    throw new EventsParseError(source, i, `"factor"/"add_ms" only apply to degrade`)
  }
  return { atS: e.at_s, kind: e.kind, from: e.from, to: e.to, pick: e.pick, both: e.both ?? false, factor: e.factor, addMs: e.add_ms }
}
