/**
 * linkemu/ owns the user-space UDP link emulator: it sits between relays
 * (and between a client and an origin for the "direct" baseline) on
 * loopback and applies one-way delay, jitter and loss per direction. The
 * demo and the loopback integration tests use it; it needs no root and no
 * netem. Tests can also tap a direction to drop, duplicate or alter packets.
 * Delay, jitter, loss and FIFO order come from the shared link model
 * (src/io/link-model.ts). Releases wake on a timerfd when the native addon
 * is built, and the emulator records its own delay error (release time
 * minus scheduled time) per link, which the demo reports next to the flows.
 */
export { UdpLinkEmulator, type LinkSpec, type LinkEnds, type Tap } from './udp-link.js'
