/**
 * The network file's optional `rollout:` section: which relays take a new
 * version first and how long they must run it healthily before the rest
 * follow (docs/operating.md, "Rolling out a version").
 *
 *   rollout:
 *     canaries: [sea]
 *     hold_s: 300
 *
 * Each version names its own canaries: the section is part of the signed
 * file, so only the operator sets it.
 */
/** What the `rollout:` section says (rollout/ enforces it). */
export interface RolloutPolicy {
  /** Relays that apply the version first; empty: everyone applies at once. */
  canaries: readonly string[]
  /** How long every canary must have run the version healthily before the rest follow. */
  holdMs: number
}

/** Hold when `canaries` is given without `hold_s`. */
export const DEFAULT_HOLD_S = 300
/** Longest hold: a week. Longer is almost certainly a unit mistake. */
export const MAX_HOLD_S = 7 * 24 * 3600

export const NO_ROLLOUT: RolloutPolicy = { canaries: [], holdMs: 0 }

/** The policy in a network file's parsed top level, or the problems with it (field paths as in the file). */
/** A problem in the section: `path` as in the file (`rollout.canaries`). */
export interface RolloutProblem {
  path: string
  message: string
}

export function rolloutPolicy(raw: Record<string, unknown>, relays: readonly string[]): { policy: RolloutPolicy; problems: RolloutProblem[] } {
  const r = raw.rollout
  if (r === undefined || r === null) return { policy: NO_ROLLOUT, problems: [] }
  if (typeof r !== 'object' || Array.isArray(r)) return { policy: NO_ROLLOUT, problems: [{ path: 'rollout', message: 'must be a mapping with canaries and hold_s' }] }
  const problems: RolloutProblem[] = []
  const { canaries, hold_s, ...rest } = r as Record<string, unknown>
  for (const k of Object.keys(rest)) problems.push({ path: `rollout.${k}`, message: 'unknown field (rollout has canaries and hold_s)' })
  const names: string[] = []
  if (canaries !== undefined) {
    if (!Array.isArray(canaries) || canaries.some((c) => typeof c !== 'string')) problems.push({ path: 'rollout.canaries', message: 'must be a list of relay ids' })
    else {
      for (const c of canaries as string[]) {
        if (!relays.includes(c)) problems.push({ path: 'rollout.canaries', message: `${JSON.stringify(c)} is not a relay of this file` })
        else if (!names.includes(c)) names.push(c)
      }
    }
  }
  let holdS = DEFAULT_HOLD_S
  if (hold_s !== undefined) {
    if (typeof hold_s !== 'number' || !Number.isFinite(hold_s) || hold_s < 0 || hold_s > MAX_HOLD_S) problems.push({ path: 'rollout.hold_s', message: `must be a number of seconds from 0 to ${MAX_HOLD_S}` })
    else holdS = hold_s
  }
  return { policy: problems.length > 0 ? NO_ROLLOUT : { canaries: names, holdMs: Math.round(holdS * 1000) }, problems }
}
