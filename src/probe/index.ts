/**
 * probe/ owns measurement: the fixed binary probe (probe-codec.ts), the
 * per-edge estimators kept at the receiving end (robust delay, RFC 3550
 * jitter, loss window, fast loss detector, down detection that does not
 * count the relay's own stalls as silence), the NTP-style
 * min-RTT offset filter, and the exit's origin-link estimator. Pure: no clocks, no sockets.
 * The math is in docs/one-way-latency.md.
 */
export * from './probe-codec.js'
export { DelayFilter, INITIAL_JITTER_MS } from './delay-filter.js'
export { LossWindow, LOSS_WINDOW } from './loss-window.js'
export { FastLoss, FAST_LOSS_WINDOW, FAST_LOSS_CLEAR_PROBES } from './fast-loss.js'
export { OffsetFilter } from './offset-filter.js'
export { InboundEdge, UP_AFTER_PROBES } from './inbound-edge.js'
export { OriginEdge, ORIGIN_DOWN_AFTER_MISSED } from './origin-edge.js'
export { RelayIndex, type NameIndex } from './relay-index.js'
export { StallWatch, STALL_GAP_MS, STALL_WATCH_MS } from './stall-watch.js'
export { Prober, DEFAULT_PROBE_INTERVAL_MS, DEFAULT_LOSS_DOWN_AFTER, MAX_PROBE_INTERVAL_MS } from './prober.js'
export type { OriginSample, RouterMessage } from './types.js'
