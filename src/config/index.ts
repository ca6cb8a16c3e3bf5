/**
 * config/ owns the relay config file: the YAML format, its validation and its
 * normalisation into `RelayConfig` (types.ts), the only shape the rest of
 * Overpass reads. Problems are thrown as one ConfigError listing every issue
 * with its field path and a fix; a private key in a file that group or others
 * can read is refused at once (InsecureFileModeError, file-mode.ts).
 * A relay may instead have a local file naming a shared, operator-signed
 * network file (local-file.ts, network-file.ts, signed-version.ts); the two
 * load into the same RelayConfig.
 *
 *   const cfg = loadConfig('/etc/overpass/lax.yaml')  // throws ConfigError
 *   cfg.relay.listen  // { host: '127.0.0.1', port: 7001 }
 */
export type * from './types.js'
export { loadConfig, parseConfig, type ParseOptions } from './load.js'
export { ConfigError, formatIssue, type ConfigIssue } from './errors.js'
export { InsecureFileModeError } from './file-mode.js'
export { checkNetwork, type NetworkIssue, type NetworkReport } from './network.js'
export { parseInterfaceAddress, servesAsIngress } from './l3.js'
export { dataPlaneConfig, resolveServiceRoles, type DataPlaneConfig, type ServiceRoles } from './data-plane.js'
export {
  DEFAULT_ASSUMED_RTT_MS,
  DEFAULT_FLOOD_INTERVAL_MS,
  DEFAULT_FLOW_IDLE_TIMEOUT_MS,
  DEFAULT_HOP_COST_MS,
  DEFAULT_LOSS_DOWN_AFTER,
  DEFAULT_MAX_LOSS_PCT,
  DEFAULT_ORIGIN_PROBE_INTERVAL_MS,
  DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_TWAMP_PORT,
  DEFAULT_HOP_LIMIT,
  DEFAULT_MAX_FLOWS,
  DEFAULT_MTU,
  DEFAULT_REKEY_AFTER_MS,
  DEFAULT_REKEY_AFTER_PACKETS,
  MAX_PATH_RELAYS,
  MAX_PROBE_INTERVAL_MS,
} from './schema.js'
export {
  parseKey,
  encodeKey,
  formatHostPort,
  generatePrivateKey,
  extractPrivateKeyText,
  parseDurationMs,
  parseHostPort,
  parsePercent,
  publicKeyOf,
  signPublicKeyOf,
} from './values.js'
