/**
 * A prom-client registry whose metrics are filled from one view snapshot per
 * scrape. The relay keeps its own counters (plain numbers and typed arrays on
 * the data path); nothing here is incremented per packet. Each family's
 * `collect()` resets it and copies the snapshot's values in, so a peer,
 * service or edge that disappears stops being exported.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { ViewSnapshot } from './views.js'

const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

export interface ScrapeRegistry {
  registry: Registry
  /** Sets the snapshot the collectors read, then renders the text format. */
  render(snapshot: ViewSnapshot): Promise<string>
}

type Fill<L extends string> = (set: (labels: Partial<Record<L, string>>, value: number) => void, snap: ViewSnapshot) => void

export interface FamilyDefiner {
  counter<L extends string>(name: string, help: string, labels: readonly L[], fill: Fill<L>): void
  gauge<L extends string>(name: string, help: string, labels: readonly L[], fill: Fill<L>): void
}

/** `define` adds the metric families (metric-families.ts); `defaultMetrics` adds prom-client's process_ and nodejs_ families. */
export function createScrapeRegistry(define: (d: FamilyDefiner) => void, opts: { defaultMetrics?: boolean } = {}): ScrapeRegistry {
  const registry = new Registry()
  let current: ViewSnapshot | undefined
  const definer: FamilyDefiner = {
    counter(name, help, labelNames, fill) {
      new Counter({
        name, help, labelNames: [...labelNames], registers: [registry],
        collect() {
          this.reset()
          if (current) fill((labels, value) => this.inc(labels, Number.isFinite(value) && value > 0 ? value : 0), current)
        },
      })
    },
    gauge(name, help, labelNames, fill) {
      new Gauge({
        name, help, labelNames: [...labelNames], registers: [registry],
        collect() {
          this.reset()
          if (current) fill((labels, value) => this.set(labels, value), current)
        },
      })
    },
  }
  define(definer)
  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry })
    // prom-client names three gauges *_total, which `promtool check metrics` rejects
    // (only counters end in _total); the same counts are exported without the suffix.
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name)
  }
  return {
    registry,
    // prom-client calls every collect() synchronously before its first await, so
    // concurrent scrapes cannot see each other's snapshot.
    render: (snapshot) => {
      current = snapshot
      return registry.metrics()
    },
  }
}
