/**
 * cli/ owns the `overpass` command line: argument parsing, exit codes and
 * human-readable output. Each subcommand lives in commands/<name>.ts and
 * exports `register(program)`; main.ts assembles them. Commands call into
 * config/, daemon/ and sim/; they hold no protocol logic.
 */
export { buildProgram, main, type RegisterCommand } from './main.js'
