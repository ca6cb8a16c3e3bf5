/**
 * Fast probing of the edges that carry data (docs/routing.md, "Fast probing
 * of active edges").
 *
 * At 10 probes a second an edge that starts losing 5% loses its second
 * probe ~4 s after the onset on average (and after more than 6 s one time
 * in ten), so no detector fed only by those probes can move a call off it
 * within 3 s without also tripping on healthy links. A relay therefore
 * probes the peers it is sending data 10 times as often: a round every
 * FAST_PROBE_INTERVAL_MS of FAST_PROBES_PER_ROUND probes back to back. The
 * loss detector then sees the same number of probes in a tenth of the time
 * (5% independent loss moves a call in ~0.4 s, median; 2 s p99; in bursts,
 * 0.6 s and 1 in 50 over 3 s: docs/routing.md, "The fast loss detector"). Only a
 * sender knows whether an edge carries its data, so it decides, and says
 * so in every probe (the FAST flag, probe-codec.ts): the receiver then
 * scales the detector's clearing run and thins the delay samples, and
 * holds the edge to FAST_DOWN_AFTER_MS. Edges without data keep the normal interval, so the
 * cost grows with the traffic's fan-out, bounded by MAX_FAST_PEERS, not
 * with the size of the network.
 */
/** The normal probe interval (config `probe_interval_ms` defaults to it; the prober re-exports it). */
export const DEFAULT_PROBE_INTERVAL_MS = 100

/**
 * A fast edge gets a round of probes every 20 ms (50 rounds a second, one
 * per control-plane tick), or at the normal interval when that is shorter. At 25 ms, 5% loss
 * tripped the detector 2.6 s after its onset one time in twenty (p95), too
 * close to 3 s once the flood and the switch are added. The ratio
 * of the two intervals scales the fast loss detector's clearing run, set in
 * sequence numbers, back to time (fast-loss.ts).
 */
export const FAST_PROBE_INTERVAL_MS = 20
/**
 * A fast round sends this many probes to the peer, back to back, with
 * consecutive sequence numbers (1 or 2). Loss comes in bursts (a queue
 * overflowing drops what arrives for a while), and one lost probe never
 * trips the loss detector (healthy links lose one now and then), so what
 * moves a call off a bursty link is a burst that takes two probes: back to
 * back, a burst that takes the first usually takes the second too (3 in 4
 * at the lab's mean burst of 4 packets), where a probe 20 ms later is
 * usually past it. With 5% loss in bursts of 4 (the lab's
 * detour-loss-bursty, fake clock, 1000 seeds) a call's forward path took
 * longer than 3 s to leave 99 times with one probe a round, 20 with two;
 * under independent 5% loss, 31 and 3 (twice the probes: 100 a second).
 * Pairs cost no extra ticks, where a 10 ms interval (the same probes)
 * would double the fast edges' senders' ticks. Cost: 50 more probes a
 * second per fast edge, ~5.4 kB/s with the overlay headers.
 */
export const FAST_PROBES_PER_ROUND = 2
/**
 * An edge stays fast this long after the last data the sender saw go over
 * it: longer than a flow's pauses (a call's silence suppression, a game's
 * lull), short enough that an edge the routes left slows down soon.
 */
export const FAST_PROBE_HOLD_MS = 2_000
/**
 * At most this many peers are probed fast at once (a relay fanning out to
 * more is probed normally beyond them): 16 x 100 probes/s of 48 bytes (plus
 * ~60 bytes of overlay headers) is ~170 kB/s more per relay at most, whatever the size of the network.
 */
export const MAX_FAST_PEERS = 16
/**
 * A sender going back to the normal interval first sends this many probes
 * at the fast interval without the FAST flag, so the receiver has moved its
 * silence deadline back before the first long gap (one lost announcement
 * would otherwise read as an outage; all three lost is ~1e-7 at 0.5% loss).
 */
export const SLOW_ANNOUNCE_PROBES = 3
/**
 * Silence before a fast edge is down (at the default loss_down_after of 3;
 * the prober scales it with loss_down_after and never exceeds the normal
 * deadline). Six fast rounds: a probe lost now and then (the round's other
 * probe arrives; a whole round lost is 44 ms of silence) and a sender's
 * timer firing late fit many times over, and the lab's transit cut leaves
 * a gap of ~210-250 ms (~240-280 ms at 150 ms, ~460 ms with the normal
 * 350 ms; the client's gap is the deadline plus ~90-130 ms: the last probe's
 * age and flight, the new path's round trip, the call's packet spacing).
 * Silence is counted only while this relay
 * itself was running and reading (stall-watch.ts): without that, relays
 * starved by other processes on a loaded host (live key-rotation test next
 * to a lab run) took their own 600-900 ms stalls for their peers' silence.
 * What can still count is a stall under STALL_GAP_MS (70 ms) plus the
 * sender's own lateness: a 70 ms stall after a round that arrived on time
 * (~90 ms) leaves ~30 ms for the sender's lateness (60 ms at 150 ms).
 */
export const FAST_DOWN_AFTER_MS = 120
/**
 * On a fast edge, delay and offset samples are taken at most every
 * DELAY_SAMPLE_SPACING x the normal interval: the delay filters' windows
 * and gains are set in samples, and routing's damping was tuned on one
 * sample per normal interval. Loss and silence use every probe.
 */
export const DELAY_SAMPLE_SPACING = 0.9
