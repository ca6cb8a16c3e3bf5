/**
 * The messages and samples the measurement layer hands up: what the prober
 * asks to send, and what an exit's origin prober measured. They live here,
 * below route/, so probe/ and origin/ never import route/ (route/types.ts
 * re-exports them as part of the Router contract).
 */

/** Something the router wants sent to another relay over the encrypted overlay. */
export type RouterMessage =
  /**
   * Fixed binary probe (hot enough to avoid msgpack). The router reuses the
   * message and its bytes for its next probe round to the same peer (no
   * allocation per probe): send or copy them before the next `tick`.
   */
  | { to: string; kind: 'probe'; bytes: Uint8Array }
  /** Control message (map floods etc.), encoded by the transport (control/control-codec.ts). */
  | { to: string; kind: 'control'; msg: unknown }

/** One origin health sample taken by this relay (an exit) across its CNI link. */
export interface OriginSample {
  service: string
  /** 'twamp' gives one-way numbers; 'icmp' gives round trip only. */
  method: 'twamp' | 'icmp'
  /** Pseudo one-way exit->origin delay (twamp: origin rx time - exit tx time, offsets included). */
  forwardPseudoMs?: number
  /** Pseudo one-way origin->exit delay (twamp). */
  reversePseudoMs?: number
  /** Round trip, ms (icmp, or twamp). */
  rttMs?: number
  /** True when the probe was lost (no reply within the prober's loss timeout, 1 s): counts as loss. */
  lost?: boolean
  /**
   * True when the probe's reply is overdue (a few round trips, origin/probe-pacing.ts):
   * counts towards taking the leg down (ORIGIN_DOWN_AFTER_MISSED in a row), never as loss.
   */
  missed?: boolean
  /**
   * The prober's regular probe interval, ms. The leg's silence deadline is
   * taken from it when given (OriginEdge.silentAfterMs); learning it from
   * the gaps between replies let a few early probes (an expedite, a miss's
   * confirmation) shrink the deadline below one regular gap.
   */
  intervalMs?: number
}
