/**
 * daemon/ owns process-level wiring: it builds a relay from a validated
 * config with real sockets, clock and timers, serves the local control
 * socket, opens the L3 TUN device when the config has `l3:`, and shuts down
 * cleanly. No protocol logic lives here.
 */
export { startDaemon, type DaemonOptions, type RunningDaemon } from './daemon.js'
export { controlRequest, startControlServer, ControlSocketError } from './control-server.js'
