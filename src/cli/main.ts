/**
 * cli/ owns the `overpass` command line: argument parsing and human output.
 * Each subcommand lives in commands/<name>.ts and exports `register(program)`;
 * this file only assembles them, so commands can be added without touching
 * each other. Commands from outside src/ (the test bed's `overpass lab`,
 * lab/commands.ts) are passed in by the entry point, bin/overpass.js, so
 * nothing in src/ imports lab/.
 */
import { Command, type CommanderError } from 'commander'
import { register as keygen } from './commands/keygen.js'
import { register as check } from './commands/check.js'
import { register as up } from './commands/up.js'
import { register as status } from './commands/status.js'
import { register as reload } from './commands/reload.js'
import { register as sim } from './commands/sim.js'
import { register as map } from './commands/map.js'
import { register as reflector } from './commands/reflector.js'
import { register as network } from './commands/network.js'
import { register as init } from './commands/init.js'

/** Adds one subcommand (or a group) to the program. */
export type RegisterCommand = (program: Command) => void

/** Exit status of a usage error (unknown option, a value outside an option's choices, a missing argument). */
export const EXIT_USAGE = 2

/** Commander exits 1 on usage errors; Overpass uses 2 for bad input everywhere (as `check` does). Help and --version exit 0. */
function exitOnUsageError(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE)
}

export function buildProgram(extra: readonly RegisterCommand[] = []): Command {
  const program = new Command()
  program
    // Set before the subcommands are added: they copy it when created.
    .exitOverride(exitOnUsageError)
    .name('overpass')
    .description('Latency-aware encrypted packet relay network')
    .version('0.1.0')
    // The program's own options (--version, --help) only before the subcommand:
    // otherwise its --version swallows `network sign --version N` (prints 0.1.0, signs nothing).
    .enablePositionalOptions()
    .showHelpAfterError()
  for (const add of [keygen, check, up, status, reload, map, sim, reflector, network, init, ...extra]) add(program)
  return program
}

export async function main(argv: string[], extra: readonly RegisterCommand[] = []): Promise<void> {
  await buildProgram(extra).parseAsync(argv)
}
