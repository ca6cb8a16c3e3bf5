import type { Command } from 'commander'

// Placeholder: replaced by the real `check` command.
export function register(_program: Command): void {}
