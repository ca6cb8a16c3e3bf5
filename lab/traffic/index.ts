/**
 * traffic/ owns test traffic for the demo and the lab: the game and voip
 * profiles, a timestamped probe-packet format, a sender that measures
 * per-packet one-way delay in both directions, a timestamping echo for the
 * origin side, and the statistics (percentiles, RFC 3550 jitter, loss,
 * reordering, longest gap). Timestamps come from CLOCK_MONOTONIC, which all
 * processes on one machine share, so one-way delays are exact on one host.
 */
export * from './profiles.js'
export * from './packet.js'
export * from './stats.js'
export * from './flow.js'
