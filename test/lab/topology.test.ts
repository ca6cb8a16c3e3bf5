import fs from 'node:fs'
import { expect, it } from 'vitest'
import { labDown } from '../../lab/topo/down.js'
import { stateFile } from '../../lab/topo/naming.js'
import { alive } from '../../lab/topo/procs.js'
import { inNs, listNamespaces } from '../../lab/topo/sh.js'
import { labUp } from '../../lab/topo/up.js'
import { LAB_SKIP_REASON } from './lab-helpers.js'
import { describeIf } from '../support/requirements.js'

describeIf(LAB_SKIP_REASON, 'lab topology', () => {
  it('lab down finds a run by its prefix when the state file is gone, and is idempotent', async () => {
    const lab = await labUp('lab/scenarios/asymmetric.yaml')
    const pids = lab.state.pids.map((p) => p.pid)
    expect(listNamespaces().filter((n) => n.startsWith(`${lab.state.run}-`))).toHaveLength(7)
    // Routing: the client's default route leads to its PoP, the PoP's to the wan router.
    expect(inNs(lab.ns('c-lax'), 'ip', 'route')).toContain('default via 198.19.0.1')
    expect(inNs(lab.ns('wan'), 'ip', 'rule')).toContain('iif p0 lookup 100')
    fs.rmSync(stateFile(lab.state.run))
    const first = await labDown(lab.state.run)
    expect(first.namespacesDeleted).toBe(7)
    expect(listNamespaces().filter((n) => n.startsWith(`${lab.state.run}-`))).toEqual([])
    expect(pids.filter(alive)).toEqual([])
    const again = await labDown(lab.state.run)
    expect(again.namespacesDeleted).toBe(0)
  })
})
