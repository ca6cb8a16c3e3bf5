/**
 * Per-run names: every namespace of a run starts with `op<4 hex>-`, so
 * `lab down` can find leftovers of a crashed run by prefix alone, and two
 * runs never collide.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'

export const STATE_DIR = process.env.OVERPASS_LAB_STATE_DIR ?? '/run/overpass-lab'
export const RUN_PATTERN = /^op[0-9a-f]{4}$/
export const NS_PATTERN = /^(op[0-9a-f]{4})-/

export function newRunId(): string {
  return `op${randomBytes(2).toString('hex')}`
}

export function nsName(run: string, node: string): string {
  return `${run}-${node}`
}

export const stateFile = (run: string): string => path.join(STATE_DIR, `${run}.json`)
export const runDir = (run: string): string => path.join(STATE_DIR, run)
