/**
 * `network.yaml`: the part of the configuration that is the same on every
 * relay. It lists the relays (id, public_key, sign_key, endpoint), the
 * services (L3 services carry the prefixes and, as exits, their owners),
 * tuning and routing. A relay's local file (local-file.ts) names it; the two
 * together are validated as the one-file format is (load.ts).
 */
import { readFileSync } from 'node:fs'
import { LineCounter, parseDocument, type Document } from 'yaml'
import { z } from 'zod'
import type { ConfigIssue } from './errors.js'
import { syntaxIssue } from './load.js'

export const networkTopSchema = z.strictObject({
  relays: z.array(z.unknown()).min(1),
  services: z.array(z.unknown()).nullish(),
  tuning: z.record(z.string(), z.unknown()).nullish(),
  routing: z.record(z.string(), z.unknown()).nullish(),
  /** Canaries and their hold (rollout-policy.ts), checked where the relays are known. */
  rollout: z.unknown().optional(),
})

/** The sections of the one-file format that come from the network file, under the same names. */
export const SHARED_SECTIONS = ['services', 'tuning', 'routing'] as const

export interface NetworkDocument {
  path: string
  /** The exact bytes, as signed. */
  bytes: Uint8Array
  raw: Record<string, unknown>
  doc: Document
  lines: LineCounter
}

/** On failure `bytes` is set when the file could be read (its signature can still be checked). */
export type NetworkRead = { ok: true; network: NetworkDocument } | { ok: false; issues: ConfigIssue[]; bytes?: Uint8Array }

export function readNetworkFile(path: string): NetworkRead {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    return { ok: false, issues: [{ file: path, path: '', message: `cannot read the network file: ${code}`, fix: 'check network.file in the local file; a relative path starts at the local file\'s folder' }] }
  }
  return parseNetworkBytes(path, new Uint8Array(bytes))
}

export function parseNetworkBytes(path: string, bytes: Uint8Array): NetworkRead {
  const lines = new LineCounter()
  const doc = parseDocument(Buffer.from(bytes).toString('utf8'), { lineCounter: lines })
  if (doc.errors.length > 0) return { ok: false, bytes, issues: doc.errors.map((e) => ({ ...syntaxIssue(e), file: path })) }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 })
  const r = networkTopSchema.safeParse(raw ?? {})
  if (!r.success) {
    return {
      ok: false,
      bytes,
      issues: r.error.issues.map((i) => ({
        file: path,
        path: i.path.map(String).join('.'),
        message: i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : i.message,
        fix: `the network file has relays, services, tuning, routing and rollout; relay, l3 and network go in each relay's local file`,
      })),
    }
  }
  return { ok: true, network: { path, bytes, raw: raw as Record<string, unknown>, doc, lines } }
}
