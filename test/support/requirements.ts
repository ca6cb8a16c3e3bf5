/**
 * What a test needs from the machine beyond Node: root, a TUN device, the
 * native addons, programs from Debian packages. Each check returns undefined
 * when satisfied, else the reason, which `describeIf`/`itIf` put in the
 * skipped tests' metadata so the skip summary (./skip-summary-reporter.ts)
 * prints why they were skipped and which package to install.
 */
import { existsSync } from 'node:fs'
import { describe, it, type TestFunction } from 'vitest'
import { missingToolsReason, type SystemTool } from '../../src/io/system-tools.js'

declare module 'vitest' {
  interface TaskMeta {
    /** Why this test or suite is skipped on this machine (shown by the skip summary). */
    skipReason?: string
  }
}

export type Gap = string | undefined

/** The first gap of several, or undefined when there is none. */
export function firstGap(...gaps: Gap[]): Gap {
  return gaps.find((g) => g !== undefined)
}

export function needsRoot(what = 'it'): Gap {
  return process.getuid?.() === 0 ? undefined : `${what} needs root (network namespaces, TUN)`
}

export function needsTools(...tools: SystemTool[]): Gap {
  return missingToolsReason(tools)
}

export function needsFile(file: string, what: string): Gap {
  return existsSync(file) ? undefined : `${what} is absent (${file})`
}

export function needsAvailable(what: string, avail: { ok: boolean; reason?: string }): Gap {
  return avail.ok ? undefined : `${what}: ${avail.reason ?? 'unavailable'}`
}

/** `describe` that is skipped, with its reason recorded, when `gap` is set. */
export function describeIf(gap: Gap, name: string, fn: () => void): void {
  describe(name, { skip: gap !== undefined, meta: { skipReason: gap } }, fn)
}

/** `it` that is skipped, with its reason recorded, when `gap` is set. */
export function itIf(gap: Gap, name: string, fn: TestFunction, timeout?: number): void {
  it(name, { skip: gap !== undefined, meta: { skipReason: gap }, timeout }, fn)
}
