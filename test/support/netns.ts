/**
 * `ip` for tests (and benchmarks) that make their own network namespaces,
 * and the cleanup that removes one whether or not it was made.
 */
import { execFileSync } from 'node:child_process'

/** Runs `ip` with these arguments, quietly and for 5 s at most; throws when it fails. */
export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 5000 })
}

/** Deletes network namespace `ns`; one that is not there (never made, already gone) is fine. */
export function deleteNetns(ns: string): void {
  try {
    ip('netns', 'del', ns)
  } catch {
    // not there: nothing to clean up
  }
}
