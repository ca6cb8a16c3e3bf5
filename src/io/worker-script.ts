/**
 * Where a worker thread's entry script is. Worker threads need JavaScript,
 * but tests run the TypeScript sources: from `src/x/y.ts` the compiled
 * sibling is `dist/src/x/<file>` (`npm test` builds first).
 */
import { existsSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export class WorkerScriptMissingError extends Error {
  override readonly name = 'WorkerScriptMissingError'
  constructor(readonly path: string) {
    super(`worker script ${path} does not exist (fix: run \`npm run build\`)`)
  }
}

/** `from` is the caller's import.meta.url, `file` the entry next to it, e.g. "lane-worker.js". */
export function workerScriptUrl(from: string, file: string): URL {
  const here = fileURLToPath(from)
  if (!here.endsWith('.ts')) return new URL(file, from)
  let root = dirname(here)
  while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root)
  const compiled = join(root, 'dist', relative(root, dirname(here)), file)
  if (!existsSync(compiled)) throw new WorkerScriptMissingError(compiled)
  return pathToFileURL(compiled)
}
