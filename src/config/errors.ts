/**
 * Config problems are reported all at once, each pinned to a field path and
 * paired with a concrete fix, so one `overpass check` run is enough to repair
 * a file.
 */

export interface ConfigIssue {
  /** Field path like `services[0].ingress[1].listen`; '' for the whole file. */
  path: string
  message: string
  /** What to write instead, e.g. "use host:port, e.g. 0.0.0.0:27015". */
  fix: string
  /** 1-based line in the source file, when it could be located. */
  line?: number
  /** 1-based column, when known (syntax errors). */
  col?: number
  /** The file the path is in, when it is not the file being loaded (the network file or its signature, local-file.ts). */
  file?: string
}

export class ConfigError extends Error {
  /** 'ConfigError', or a subclass's own name (InsecureFileModeError). */
  override readonly name: string = 'ConfigError'
  readonly issues: ConfigIssue[]
  readonly sourcePath?: string

  constructor(issues: ConfigIssue[], sourcePath?: string) {
    const where = sourcePath ?? 'config'
    const head = `${where}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`
    super([head, ...issues.map((i) => '  ' + formatIssue(i))].join('\n'))
    this.issues = issues
    this.sourcePath = sourcePath
  }
}

/** One line per issue: `path: message (fix: ...)`, plus the line number when known. */
export function formatIssue(issue: ConfigIssue): string {
  const path = issue.path === '' ? '(file)' : issue.path
  // Syntax errors already say "at line L, column C" in the message.
  const known = issue.line === undefined || issue.message.includes(`line ${issue.line}`)
  const at = known ? '' : ` [line ${issue.line}]`
  const file = issue.file === undefined ? '' : `${issue.file}: `
  return `${file}${path}: ${issue.message} (fix: ${issue.fix})${at}`
}

export type PathSegment = string | number

/** ['services', 0, 'ingress', 1, 'listen'] → 'services[0].ingress[1].listen' */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = ''
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`
    else out += out === '' ? s : `.${s}`
  }
  return out
}

/** Inverse of formatPath, used to find the YAML node of an issue. */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = []
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    out.push(m[2] !== undefined ? Number(m[2]) : m[1])
  }
  return out
}
