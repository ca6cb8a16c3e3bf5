/**
 * Sticky exits: a flow keeps the exit it started on for its whole life, so
 * the origin sees one source address and port per client session (game and
 * TURN servers treat a new source as a new client). Paths inside the overlay
 * may change freely; the exit changes only when the provider no longer has a
 * path to it, i.e. when that exit is unreachable or its origin leg is down
 * (the router drops an exit whose origin link is down, lossy or stale).
 * A new flow takes the best exit of the moment.
 *
 * Also the ingress's dedup of redundant replies, which must follow the
 * flow's exit: each exit numbers its replies from 0 (the sequence space is
 * per exit flow), so one window shared by two exits would take the new
 * exit's replies for stale ones.
 *
 * Hot path: `stickyPath` is one provider lookup (two when the flow's exit
 * is not the best one), no allocation. The state lives in the flow record,
 * created once at admission (flow-admission.ts bounds how many there are).
 */
import { FLAG_REDUNDANT } from '../wire/data.js'
import type { PathProvider, PathRef } from './paths.js'
import type { ServiceState } from './context.js'
import { SeqWindow } from './seq-window.js'

/** A flow with no exit yet (node ids are u32, so -1 is never one). */
export const NO_EXIT = -1

/** What a flow keeps for its sticky exit. */
export interface StickyExit {
  /** Node id of the exit the flow rides, or NO_EXIT before its first routed packet. */
  exit: number
}

/** The last relay of a path: its exit. */
export function exitOf(path: PathRef): number {
  return path.nodes[path.nodes.length - 1]
}

/**
 * The path for the next packet of `flow`: to the flow's exit while the
 * provider still has one, else the best path (whose exit the flow takes
 * from now on). Undefined when no exit is reachable; the flow keeps its exit
 * then, in case it comes back.
 */
export function stickyPath(paths: PathProvider, service: ServiceState, flow: StickyExit): PathRef | undefined {
  if (flow.exit !== NO_EXIT) {
    const held = paths.forwardVia !== undefined ? paths.forwardVia(service.cfg, flow.exit) : undefined
    if (held !== undefined) return held
  }
  const best = paths.forward(service.cfg)
  if (best === undefined) return undefined
  const exit = exitOf(best)
  if (exit !== flow.exit) {
    if (flow.exit !== NO_EXIT) service.flowExitMoves++
    flow.exit = exit
  }
  return best
}

/**
 * Dedup windows of a flow's redundant replies, one per exit for the
 * current exit and the one before (replies of the old exit may still be in
 * flight when the flow moves). A third exit takes the older window over,
 * reset: copies from an exit two moves back are no longer recognised, which
 * would take two exit failures within one reply's flight time.
 */
export class ReplyWindows {
  private exit = NO_EXIT
  private window = new SeqWindow()
  private prevExit = NO_EXIT
  private prev = new SeqWindow()

  /** True the first time `seq` of a reply from `exit` is seen. */
  accept(exit: number, seq: number): boolean {
    if (exit === this.exit) return this.window.accept(seq)
    if (exit === this.prevExit) return this.prev.accept(seq)
    const reused = this.prev
    reused.reset()
    this.prev = this.window
    this.prevExit = this.exit
    this.window = reused
    this.exit = exit
    return reused.accept(seq)
  }
}

/**
 * For replies sent over two paths (FLAG_REDUNDANT): true when this exit's
 * reply of this sequence number was already delivered, so the caller drops
 * the copy. The exit is the reply's first relay.
 */
export function isRedundantReply(flow: { seen: ReplyWindows | undefined }, hdr: { flags: number; seq: number; path: Uint32Array }): boolean {
  if ((hdr.flags & FLAG_REDUNDANT) === 0) return false
  if (flow.seen === undefined) flow.seen = new ReplyWindows()
  return !flow.seen.accept(hdr.path[0], hdr.seq)
}
