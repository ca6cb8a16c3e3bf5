import type { Command } from 'commander'

// Placeholder: replaced by the real `keygen` command.
export function register(_program: Command): void {}
