import type { Command } from 'commander'

// Placeholder: replaced by the real `status` command.
export function register(_program: Command): void {}
