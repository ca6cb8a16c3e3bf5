/** The lab's test-fault command (daemon/test-faults.ts): there only with OVERPASS_TEST_FAULTS=1. */
import { describe, expect, it } from 'vitest'
import { withTestFaults } from '../../src/daemon/test-faults.js'

describe('test faults', () => {
  const answer = (req: { cmd: string }) => ({ answered: req.cmd })

  it('are not there in a relay started without OVERPASS_TEST_FAULTS=1: the command goes to the normal handler', () => {
    const relay = { testFaults: { dropTransitData: false } }
    const h = withTestFaults(relay, answer, {})
    expect(h({ cmd: 'test-fault', drop_transit_data: true })).toEqual({ answered: 'test-fault' })
    expect(relay.testFaults.dropTransitData).toBe(false)
  })

  it('switch transit data dropping on and off with it, and refuse a request without a boolean', () => {
    const relay = { testFaults: { dropTransitData: false } }
    const h = withTestFaults(relay, answer, { OVERPASS_TEST_FAULTS: '1' })
    expect(h({ cmd: 'test-fault', drop_transit_data: true })).toEqual({ dropTransitData: true })
    expect(relay.testFaults.dropTransitData).toBe(true)
    expect(() => h({ cmd: 'test-fault' })).toThrow(/drop_transit_data/)
    h({ cmd: 'test-fault', drop_transit_data: false })
    expect(relay.testFaults.dropTransitData).toBe(false)
    expect(h({ cmd: 'status' })).toEqual({ answered: 'status' })
  })
})
