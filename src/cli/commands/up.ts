import type { Command } from 'commander'

// Placeholder: replaced by the real `up` command.
export function register(_program: Command): void {}
