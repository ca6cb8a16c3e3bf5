/**
 * The process's open-file limit (the soft RLIMIT_NOFILE), which Node does not
 * expose: read once at start-up from /proc/self/limits. The data plane sizes
 * its exit socket budget from it (dataplane/flow-admission.ts).
 */
import { readFileSync } from 'node:fs'

/** The soft limit on open files, or undefined when it cannot be read (not Linux) or is unlimited. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8')
    } catch {
      return undefined
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text)
  if (m === null || m[1] === 'unlimited') return undefined
  const n = Number(m[1])
  return Number.isInteger(n) && n > 0 ? n : undefined
}
