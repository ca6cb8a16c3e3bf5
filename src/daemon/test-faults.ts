/**
 * Test bed only: lets the lab tell a running relay to misbehave, so that the
 * defences against such relays can be measured end to end (docs/lab.md,
 * scenario actions drop-data and forward-data). The control socket answers
 * `{"cmd":"test-fault",...}` only when the relay was started with
 * OVERPASS_TEST_FAULTS=1 in its environment (the lab sets it); otherwise the
 * command is unknown, as in every production relay.
 */
import type { Relay } from '../dataplane/relay.js'

export const TEST_FAULTS_ENV = 'OVERPASS_TEST_FAULTS'

type Handler = (req: { cmd: string; [k: string]: unknown }) => unknown

/** Wraps a control handler with the test-fault command when the environment allows it. */
export function withTestFaults(relay: Pick<Relay, 'testFaults'>, handle: Handler, env: NodeJS.ProcessEnv = process.env): Handler {
  if (env[TEST_FAULTS_ENV] !== '1') return handle
  return (req) => {
    if (req.cmd !== 'test-fault') return handle(req)
    if (typeof req.drop_transit_data !== 'boolean') throw new Error('test-fault needs drop_transit_data: true or false')
    relay.testFaults.dropTransitData = req.drop_transit_data
    return { ...relay.testFaults }
  }
}
