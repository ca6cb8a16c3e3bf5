/**
 * Runs `overpass check|keygen|pubkey|network|init` in-process with captured output and exit
 * code. The program is assembled like buildProgram() (src/cli/main.ts) but with
 * only these commands, so the tests do not depend on other commands' modules.
 */
import { Readable } from 'node:stream'
import { Command } from 'commander'
import { vi } from 'vitest'
import { register as registerCheck } from '../../src/cli/commands/check.js'
import { register as registerKeygen } from '../../src/cli/commands/keygen.js'
import { register as registerNetwork } from '../../src/cli/commands/network.js'
import { register as registerInit } from '../../src/cli/commands/init.js'

function buildProgram(): Command {
  const program = new Command().name('overpass')
  // Set before registering: subcommands copy the exit behaviour when created.
  program.exitOverride()
  registerKeygen(program)
  registerCheck(program)
  registerNetwork(program)
  registerInit(program)
  return program
}

export interface CliResult {
  out: string
  err: string
  exitCode: number
}

export async function runCli(args: string[], stdin?: string): Promise<CliResult> {
  let out = ''
  let err = ''
  const program = buildProgram().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) })
  const stdinSpy = stdin === undefined ? undefined : vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([Buffer.from(stdin)]) as typeof process.stdin)
  const before = process.exitCode
  process.exitCode = 0
  try {
    await program.parseAsync(['node', 'overpass', ...args])
    return { out, err, exitCode: Number(process.exitCode ?? 0) }
  } finally {
    process.exitCode = before
    stdinSpy?.mockRestore()
  }
}
