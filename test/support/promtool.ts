/** `promtool check metrics` (Debian package prometheus) on a scrape. */
import { execFileSync } from 'node:child_process'

/** promtool's complaints about `text`, empty when clean (it exits non-zero on any). */
export function promtoolProblems(text: string): string {
  try {
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] })
    return ''
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string }
    return `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}` || e.message
  }
}
