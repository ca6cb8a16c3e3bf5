/**
 * Files that hold a private key must be the owner's alone: a key file, and a
 * config file with `private_key` written inline. Loading refuses one that
 * group or others can read (or write) with InsecureFileModeError, which names
 * the file, its mode and the `chmod` that fixes it. POSIX only: Windows has no
 * such mode bits, so nothing is checked there.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs'
import { ConfigError } from './errors.js'

/** Permission bits for group and others: any of them set means someone else can read or replace the key. */
const GROUP_OTHER_BITS = 0o077

export class InsecureFileModeError extends ConfigError {
  override readonly name = 'InsecureFileModeError'

  constructor(
    readonly file: string,
    /** Permission bits, e.g. 0o644. */
    readonly mode: number,
    /** The config field that made the file private (relay.private_key or relay.private_key_file). */
    readonly field: string,
    readonly fix = `chmod 600 ${shellQuoted(file)}`,
  ) {
    const holds = field === 'relay.private_key' ? 'holds private_key inline' : 'holds the private key'
    super([{ path: field, message: `${file} ${holds} and group or others can read it (mode ${octal(mode)})`, fix }], file)
  }
}

/** A file's text and permission bits, both from one open descriptor (so the mode checked is the file read). */
export function readFileWithMode(path: string): { text: string; mode: number } {
  const fd = openSync(path, 'r')
  try {
    return { mode: fstatSync(fd).mode & 0o7777, text: readFileSync(fd, 'utf8') }
  } finally {
    closeSync(fd)
  }
}

/** Throws InsecureFileModeError when `mode` lets group or others at the file. */
export function assertOwnerOnly(file: string, mode: number, field: string): void {
  if (process.platform === 'win32') return
  if ((mode & GROUP_OTHER_BITS) !== 0) throw new InsecureFileModeError(file, mode, field)
}

function octal(mode: number): string {
  return '0' + (mode & 0o777).toString(8).padStart(3, '0')
}

/** The path as one shell word, so the printed fix can be pasted. */
function shellQuoted(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`
}
