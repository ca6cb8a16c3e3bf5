/**
 * daemon/ owns process-level wiring only: it picks the real sockets (and the
 * data-plane worker threads that share their ports), opens the L3 TUN device
 * when the config has `l3:`, serves the local control socket, and shuts down
 * cleanly, and re-reads its config on SIGHUP / `overpass reload`
 * (reload.ts; the change itself is node/live-apply.ts). The relay itself is
 * built by node/createRelayNode; no protocol logic lives here.
 */
export { startDaemon, type DaemonOptions, type RunningDaemon } from './daemon.js'
export { ConfigReloader, type ChangeRecord } from './reload.js'
export type { ApplyResult } from '../node/live-apply.js'
export { controlRequest, startControlServer, ControlSocketError } from './control-server.js'
