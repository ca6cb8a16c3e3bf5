/**
 * lab/ owns the network-namespace lab: scenario files (scenario/), the
 * namespace topology (topo/), the user-space WAN emulator that runs in the
 * `wan` namespace (emulator/), the `overpass lab run` orchestration (run/)
 * and its text/HTML reports (report/). It needs root and iproute2; nothing
 * in src/ depends on it.
 */
export * from './scenario/index.js'
