/**
 * Loads the repository's N-API addons (build/Release/<name>.node, built by
 * `npm ci` through binding.gyp) once per process, remembering why one could
 * not load so callers can put the reason into their typed errors.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type AddonLoad<T> = { addon: T; error?: undefined } | { addon?: undefined; error: string }

/** What to tell the operator when an addon is missing. */
export const REBUILD_FIX = 'run `npm rebuild` (or `npm ci`) in the overpass checkout; node-gyp needs python3, make, a C compiler and Node headers'

const cache = new Map<string, AddonLoad<unknown>>()

/**
 * `name` is the binding.gyp target (e.g. "overpass_tun"); `overrideEnv`
 * names an environment variable that may point at another build of it.
 * Linux only: every addon here wraps a Linux interface.
 */
export function loadNativeAddon<T>(name: string, overrideEnv: string): AddonLoad<T> {
  const cached = cache.get(name)
  if (cached) return cached as AddonLoad<T>
  const result = load<T>(name, overrideEnv)
  cache.set(name, result)
  return result
}

function load<T>(name: string, overrideEnv: string): AddonLoad<T> {
  if (process.platform !== 'linux') return { error: `platform is ${process.platform} (${name} is Linux only)` }
  const file = join('build', 'Release', `${name}.node`)
  const candidates: string[] = []
  const override = process.env[overrideEnv]
  if (override) candidates.push(override)
  // Walk up from src/io (or dist/src/io) to the package root that holds build/.
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++, dir = dirname(dir)) candidates.push(join(dir, file))
  const path = candidates.find((p) => existsSync(p))
  if (!path) return { error: `native addon ${file} is not built` }
  try {
    return { addon: createRequire(import.meta.url)(path) as T }
  } catch (err) {
    return { error: `native addon ${path} failed to load: ${(err as Error).message}` }
  }
}
