/**
 * cli/ owns the `overpass` command line: argument parsing and human output.
 * Each subcommand lives in commands/<name>.ts and exports `register(program)`;
 * this file only assembles them, so commands can be added without touching
 * each other. Commands from outside src/ (the test bed's `overpass lab`,
 * lab/commands.ts) are passed in by the entry point, bin/overpass.js, so
 * nothing in src/ imports lab/.
 */
import { Command } from 'commander'
import { register as keygen } from './commands/keygen.js'
import { register as check } from './commands/check.js'
import { register as up } from './commands/up.js'
import { register as status } from './commands/status.js'
import { register as sim } from './commands/sim.js'
import { register as map } from './commands/map.js'
import { register as reflector } from './commands/reflector.js'
import { register as network } from './commands/network.js'
import { register as init } from './commands/init.js'

/** Adds one subcommand (or a group) to the program. */
export type RegisterCommand = (program: Command) => void

export function buildProgram(extra: readonly RegisterCommand[] = []): Command {
  const program = new Command()
  program
    .name('overpass')
    .description('Latency-aware encrypted packet relay network')
    .version('0.1.0')
    .showHelpAfterError()
  for (const add of [keygen, check, up, status, map, sim, reflector, network, init, ...extra]) add(program)
  return program
}

export async function main(argv: string[], extra: readonly RegisterCommand[] = []): Promise<void> {
  await buildProgram(extra).parseAsync(argv)
}
