/**
 * The folder-level import graph of src/: which top-level folder's files
 * import which other folder's, read from the import/export statements of
 * every src/**\/*.ts file (static `from '…'` and dynamic `import('…')`).
 */
import fs from 'node:fs'
import path from 'node:path'

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g

export interface ImportEdge {
  from: string
  to: string
  /** One file that makes the edge (for the failure message). */
  file: string
}

function tsFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...tsFiles(p))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

/** Folder-to-folder edges under `srcDir`; a target outside src/ is named by its path relative to the repo (e.g. `../lab`). */
export function folderEdges(srcDir: string): ImportEdge[] {
  const edges = new Map<string, ImportEdge>()
  for (const file of tsFiles(srcDir)) {
    const from = path.relative(srcDir, file).split(path.sep)[0]
    const text = fs.readFileSync(file, 'utf8')
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1]
      if (!spec.startsWith('.')) continue
      const rel = path.relative(srcDir, path.resolve(path.dirname(file), spec))
      const to = rel.startsWith('..') ? rel.split(path.sep).slice(0, 2).join('/') : rel.split(path.sep)[0]
      if (to === from) continue
      const key = `${from}>${to}`
      if (!edges.has(key)) edges.set(key, { from, to, file: path.relative(srcDir, file) })
    }
  }
  return [...edges.values()]
}

/** A cycle in the graph, as a list of folders (first repeated last), or undefined. */
export function findCycle(graph: Map<string, Iterable<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n]
    state.set(n, 'open')
    stack.push(n)
    for (const m of graph.get(n) ?? []) {
      const c = visit(m)
      if (c) return c
    }
    stack.pop()
    state.set(n, 'done')
    return undefined
  }
  for (const n of graph.keys()) {
    const c = visit(n)
    if (c) return c
  }
  return undefined
}
