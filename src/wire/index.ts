/**
 * wire/ owns every byte layout Overpass puts on the network: the outer
 * transport header (outer.ts), the inner data header with its relay path
 * (data.ts), the client-address extension (client-addr.ts), path reports
 * (path-report.ts), endpoint probes of spare addresses (endpoint-probe.ts),
 * the numeric ids
 * derived from names (ids.ts) and the overhead arithmetic (mtu.ts). Codecs
 * here never throw on bad input: they return negative error codes the data
 * plane counts. docs/wire-format.md documents the same layouts byte by byte.
 */
export * from './outer.js'
export * from './data.js'
export * from './ids.js'
export * from './client-addr.js'
export * from './mtu.js'
export * from './path-report.js'
export * from './endpoint-probe.js'
