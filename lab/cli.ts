/**
 * Standalone entry for the lab commands (`node dist/lab/cli.js lab ...`),
 * used by test/lab; `overpass lab ...` (bin/overpass.js) runs the same
 * commands.ts.
 */
import { Command } from 'commander'
import { register } from './commands.js'

const program = new Command().name('overpass')
register(program)
await program.parseAsync(process.argv)
