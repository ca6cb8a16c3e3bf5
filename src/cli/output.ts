import type { Command } from 'commander'

export interface Output {
  writeOut(text: string): void
  writeErr(text: string): void
}

/**
 * The root program's output settings (tests replace them with
 * configureOutput). Subcommands copy them when they are created, so the root
 * is read at run time instead.
 */
export function outputOf(cmd: Command): Output {
  let root = cmd
  while (root.parent) root = root.parent
  const cfg = root.configureOutput()
  return {
    writeOut: (t) => (cfg.writeOut ? cfg.writeOut(t) : process.stdout.write(t)),
    writeErr: (t) => (cfg.writeErr ? cfg.writeErr(t) : process.stderr.write(t)),
  }
}
