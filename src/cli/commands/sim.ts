import type { Command } from 'commander'

// Placeholder: replaced by the real `sim` command.
export function register(_program: Command): void {}
