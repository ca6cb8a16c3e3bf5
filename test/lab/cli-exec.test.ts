/**
 * `overpass lab up|exec|down` through the real CLI (root, network
 * namespaces): a shipped scenario by name, a command run in a node's
 * namespace with its exit status passed through, and the teardown.
 */
import { afterAll, expect, it } from 'vitest'
import { runCli } from '../integration/harness.js'
import { describeIf } from '../support/requirements.js'
import { LAB_SKIP_REASON } from './lab-helpers.js'

let run = ''

describeIf(LAB_SKIP_REASON, 'overpass lab exec', () => {
  afterAll(async () => {
    if (run) await runCli(['lab', 'down', '--run', run])
  })

  it('brings up a shipped scenario by name, runs commands inside its nodes, and tears it down', async () => {
    const up = await runCli(['lab', 'up', 'asymmetric', '--wan', 'emulator'])
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    run = up.stdout.trim()
    expect(run).toMatch(/^\S+$/)
    // The client's default route leads to its PoP (as test/lab/topology.test.ts checks from the library).
    const route = await runCli(['lab', 'exec', '--run', run, 'c-lax', '--', 'ip', 'route'])
    expect(route.code).toBe(0)
    expect(route.stdout).toContain('default via')
    const inside = await runCli(['lab', 'exec', '--run', run, 'c-lax', '--', 'ip', '-o', 'link'])
    expect(inside.code).toBe(0)
    // The exit status of the command is the command's.
    expect((await runCli(['lab', 'exec', '--run', run, 'c-lax', '--', 'sh', '-c', 'exit 3'])).code).toBe(3)
    const down = await runCli(['lab', 'down', '--run', run])
    expect(down.stdout).toMatch(/lab down: 1 run\(s\), 7 namespace\(s\) deleted/)
    run = ''
    const gone = await runCli(['lab', 'exec', '--run', 'no-such-run', 'c-lax', '--', 'true'])
    expect(gone.code).not.toBe(0)
  })
})
