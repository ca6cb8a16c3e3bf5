/**
 * sim/ owns the network simulator: latency matrices (CSV, subsets,
 * asymmetric splits), a seeded PRNG, a lean discrete-event loop that runs one
 * real Router per relay over simulated links (delay, jitter, loss, clock
 * offsets, timed cuts/degradations), optionally split over two loops (a
 * worker thread) with the same result, the true-delay oracle and the
 * scoring behind `overpass sim`.
 *
 *   const m = parseMatrixCsv(readFileSync('wondernetwork_2020.csv', 'utf8'))
 *   const result = runSimulation({ matrix: m, createRouter, seed: 1, durationS: 60 })
 *   console.log(result.within_tolerance)
 */
export { MatrixParseError, EventsParseError, SimConfigError } from './errors.js'
export { Rng, deriveSeed, streamRng } from './prng.js'
export { parseMatrixCsv, applyAsymmetry, selectSites, sampleSites, type LatencyMatrix, type MatrixFormat } from './matrix.js'
export { parseEvents, type SimEvent, type SimEventKind } from './events.js'
export { oracleCosts, pathCostMs, withinTolerance, MAX_PATH_RELAYS } from './oracle.js'
export { scorePairs, statusOfPairs, type PairScore, type Scorable } from './score.js'
export { splitRelays, crossLookaheadMs, type RelaySplit } from './split.js'
export { Simulation, runSimulation, type SimInit, type SimResult, type EventReport } from './simulator.js'
export { formatSummary } from './report.js'
export { simInitFromOptions, type SimCliOptions } from './options.js'
