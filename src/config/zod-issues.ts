/**
 * Turns zod's issues into ConfigIssues: plain-English messages, a field path
 * relative to the whole file, a fix from fixes.ts, and "did you mean" for
 * unknown fields that look like typos of known ones.
 */
import type { z } from 'zod'
import { formatPath, type ConfigIssue, type PathSegment } from './errors.js'
import { fieldPattern, fixFor } from './fixes.js'
import { KNOWN_FIELDS } from './schema.js'

type ZodIssue = z.core.$ZodIssue

export function fromZodIssues(issues: readonly ZodIssue[], prefix: readonly PathSegment[], input: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = []
  const suggested = new Set<string>()
  for (const issue of issues) {
    const segments = [...prefix, ...(issue.path as PathSegment[])]
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push(unknownField(segments, key, suggested))
    }
  }
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') continue
    const segments = [...prefix, ...(issue.path as PathSegment[])]
    const path = formatPath(segments)
    const value = valueAt(input, issue.path as PathSegment[])
    // A typo'd key already says "did you mean X"; "X is required" would repeat it.
    if (value === undefined && suggested.has(path)) continue
    out.push({ path, message: messageFor(issue, value), fix: fixFor(path) })
  }
  return out
}

function unknownField(parent: PathSegment[], key: string, suggested: Set<string>): ConfigIssue {
  const path = formatPath([...parent, key])
  const known = KNOWN_FIELDS[fieldPattern(formatPath(parent))] ?? []
  const guess = closest(key, known)
  if (guess !== undefined) {
    suggested.add(formatPath([...parent, guess]))
    return { path, message: `unknown field "${key}"`, fix: `did you mean "${guess}"?` }
  }
  const list = known.length > 0 ? `; fields allowed here: ${known.join(', ')}` : ''
  return { path, message: `unknown field "${key}"`, fix: `remove it${list}` }
}

function messageFor(issue: ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return 'is required'
      // Messages set in schema.ts are already specific; zod's own start with "Invalid".
      if (!issue.message.startsWith('Invalid')) return `${describe(value)} ${issue.message}`
      if (issue.expected === 'int') return `must be a whole number, got ${describe(value)}`
      return `must be ${article(issue.expected)}, got ${describe(value)}`
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}`
      if (issue.origin === 'string') return 'must not be empty'
      return `must be at least ${issue.minimum}, got ${describe(value)}`
    case 'too_big':
      return `must be at most ${issue.maximum}, got ${describe(value)}`
    case 'invalid_value':
      // A missing enum field (no default) arrives as invalid_value, not invalid_type.
      if (value === undefined) return `is required: one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`
    case 'custom':
      return issue.message === 'is not a valid id' ? `${describe(value)} is not a valid id` : issue.message
    default:
      return issue.message
  }
}

const ARTICLES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  array: 'a list',
  record: 'a mapping',
  object: 'a mapping',
  boolean: 'true or false',
}

function article(expected: string): string {
  return ARTICLES[expected] ?? expected
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  const text = JSON.stringify(value)
  return text.length > 40 ? text.slice(0, 37) + '...' : text
}

function valueAt(input: unknown, path: readonly PathSegment[]): unknown {
  let v: unknown = input
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string | number, unknown>)[seg]
  }
  return v
}

/** Closest known name within a small edit distance, or undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance, with dashes and underscores treated as the same (a common slip). */
export function editDistance(a: string, b: string): number {
  a = a.replace(/-/g, '_')
  b = b.replace(/-/g, '_')
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}
