/**
 * Degraded mode: which stale map columns are still used, and since when.
 *
 * A column that stops being refreshed is either "no news" (its relay is
 * alive but its updates are lost: the control plane is degraded) or a sign
 * that the relay is gone. The router cannot read that from the column, so it
 * asks its own probes: while probes from the column's relay still arrive
 * (our own inbound edge from it is up), the relay is alive and its last
 * column is kept, so paths keep working on the last good map. When those
 * probes stop too, the column is dropped as before (news of down). A column
 * that was dropped is only taken again from a fresh update, never revived
 * by probes alone: what it said predates the outage.
 *
 * Edges a fresh column reports down are always honoured; holding only
 * replaces silence with the last thing heard.
 */
export interface ControlPlaneHealth {
  /** True while at least one stale column is kept because its relay is still heard. */
  degraded: boolean
  /** The router's nowMs when the current degraded spell began; undefined when not degraded. */
  sinceMs?: number
  /** How long the spell had lasted at the router's latest input (nowMs - sinceMs). */
  forMs?: number
  /** Relays whose stale columns are kept. */
  held: string[]
}

export class ColumnHold {
  /** Per relay: 1 while its column is stale but kept. */
  private readonly held: Uint8Array
  private count = 0
  private sinceMs: number | undefined
  /** Columns that have been kept at some point, for counters. */
  holdsStarted = 0

  constructor(relays: number) {
    this.held = new Uint8Array(relays)
  }

  get any(): boolean {
    return this.count > 0
  }

  isHeld(v: number): boolean {
    return this.held[v] === 1
  }

  hold(v: number, nowMs: number): void {
    if (this.held[v] === 1) return
    this.held[v] = 1
    if (this.count++ === 0) this.sinceMs = nowMs
    this.holdsStarted++
  }

  /** Column v was refreshed or dropped. */
  release(v: number): void {
    if (this.held[v] === 0) return
    this.held[v] = 0
    if (--this.count === 0) this.sinceMs = undefined
  }

  health(relays: readonly string[], nowMs: number): ControlPlaneHealth {
    if (this.count === 0) return { degraded: false, held: [] }
    const held: string[] = []
    for (let v = 0; v < this.held.length; v++) if (this.held[v] === 1) held.push(relays[v])
    return { degraded: true, sinceMs: this.sinceMs, forMs: nowMs - this.sinceMs!, held }
  }
}
