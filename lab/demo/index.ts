/**
 * demo/ owns `npm run demo`: a five-relay network on loopback behind the
 * user-space link emulator with a built-in US latency matrix (topology.ts),
 * a game flow sent directly and through Overpass at once, and the printed
 * map, routes and latency comparison (main.ts). No root needed.
 */
export { runDemo, type DemoOptions } from './main.js'
export { DEMO_SITES, DEMO_ONE_WAY_MS, DEMO_INGRESS, DEMO_EXIT } from './topology.js'
