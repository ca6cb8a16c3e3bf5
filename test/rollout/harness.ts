/**
 * An in-memory network of NetworkVersions machines for the rollout tests:
 * a fake clock, messages delivered at once (or dropped by a cut), fake
 * appliers whose answers the test chooses, and the persisted records kept.
 * Version content is JSON ({relays, rollout?, badFor?}); inspect() stands in
 * for `overpass check` (badFor lists relays for which it is invalid).
 */
import { operatorKeyPairOf, signDetached } from '../../src/crypto/operator-signing.js'
import { signedMessage, type SignedNetworkFile } from '../../src/config/signed-version.js'
import { NetworkVersions } from '../../src/rollout/network-versions.js'
import { rolloutPolicy } from '../../src/config/rollout-policy.js'
import type { ApplyResult, PersistedVersions, RelayHealth, VersionAction, VersionInspection } from '../../src/rollout/types.js'

export const operator = operatorKeyPairOf(new Uint8Array(32).fill(7))
export const stranger = operatorKeyPairOf(new Uint8Array(32).fill(8))

export interface Content {
  relays: string[]
  rollout?: { canaries?: string[]; hold_s?: number }
  badFor?: string[]
  pad?: string
}

export function signed(version: number, content: Content, secretKey = operator.secretKey): SignedNetworkFile {
  const bytes = new Uint8Array(Buffer.from(JSON.stringify(content)))
  return { version, bytes, signature: signDetached(signedMessage(version, bytes), secretKey) }
}

export function inspectFor(self: string): (bytes: Uint8Array) => VersionInspection {
  return (bytes) => {
    const c = JSON.parse(Buffer.from(bytes).toString('utf8')) as Content
    const { policy, problems: issues } = rolloutPolicy(c as unknown as Record<string, unknown>, c.relays)
    const problems = issues.map((p) => `${p.path}: ${p.message}`)
    if (c.badFor?.includes(self)) problems.push(`relays: not valid for ${self}`)
    return { problems, relays: c.relays, rollout: policy }
  }
}

export interface Node {
  id: string
  m: NetworkVersions
  health: RelayHealth
  /** What the applier answers (default applied). */
  answer: (v: number, why: 'adopt' | 'rollback') => ApplyResult
  applied: { version: number; why: string }[]
  persisted: PersistedVersions | undefined
  logs: { level: string; msg: string; fields: Record<string, unknown> }[]
}

export class Lab {
  nowMs = 0
  readonly nodes = new Map<string, Node>()
  /** Directed links that drop everything ("a->b"). */
  readonly cut = new Set<string>()
  /** Everything sent, for the tests that count bytes. */
  readonly sent: { from: string; to: string; bytes: Uint8Array }[] = []

  add(id: string, running: SignedNetworkFile, opts: { persisted?: PersistedVersions; rollbackWindowMs?: number; lossConfirmMs?: number } = {}): Node {
    const node: Node = {
      id,
      m: new NetworkVersions({ self: id, operatorKey: operator.publicKey, running, persisted: opts.persisted, inspect: inspectFor(id), random: () => 0.5, rollbackWindowMs: opts.rollbackWindowMs, lossConfirmMs: opts.lossConfirmMs ?? 1000, startMs: this.nowMs }),
      health: { peersUp: 2, mapFresh: true },
      answer: () => ({ outcome: 'applied' }),
      applied: [],
      persisted: undefined,
      logs: [],
    }
    this.nodes.set(id, node)
    return node
  }

  run(node: Node, actions: VersionAction[]): void {
    for (const a of actions) {
      if (a.kind === 'send') this.deliver(node.id, a.to, a.bytes)
      else if (a.kind === 'persist') node.persisted = structuredClone(a.state)
      else if (a.kind === 'log') node.logs.push(a)
      else {
        node.applied.push({ version: a.file.version, why: a.why })
        this.run(node, node.m.onApplied(this.nowMs, a.file.version, node.answer(a.file.version, a.why)))
      }
    }
  }

  deliver(from: string, to: string, bytes: Uint8Array): void {
    this.sent.push({ from, to, bytes })
    if (this.cut.has(`${from}->${to}`)) return
    const n = this.nodes.get(to)
    if (n !== undefined) this.run(n, n.m.onMessage(this.nowMs, from, bytes))
  }

  /** Advances time in 100 ms ticks. */
  advance(ms: number): void {
    const end = this.nowMs + ms
    while (this.nowMs < end) {
      this.nowMs += 100
      for (const n of this.nodes.values()) this.run(n, n.m.tick(this.nowMs, n.health))
    }
  }

  offer(id: string, file: SignedNetworkFile): ReturnType<NetworkVersions['offer']>['verdict'] {
    const n = this.nodes.get(id)!
    const { verdict, actions } = n.m.offer(this.nowMs, file)
    this.run(n, actions)
    return verdict
  }

  running(): Record<string, number> {
    return Object.fromEntries([...this.nodes].map(([id, n]) => [id, n.m.runningVersion]))
  }
}
