/**
 * Standalone entry for the lab commands (`node dist/lab/cli.js lab ...`),
 * used by test/lab; `overpass lab ...` is the same once registered.
 */
import { Command } from 'commander'
import { register } from '../src/cli/commands/lab.js'

const program = new Command().name('overpass')
register(program)
await program.parseAsync(process.argv)
