/**
 * `SIGHUP` and `overpass reload`: re-read the relay's config file (a local
 * file re-reads the signed network file it names) and apply it live
 * (node/live-apply.ts). One change at a time: a reload asked for while one
 * runs waits for it. Each outcome is logged and kept for `overpass status`
 * (`config.last_change`).
 */
import { ConfigError } from '../config/errors.js'
import { loadConfig } from '../config/load.js'
import type { RelayConfig } from '../config/types.js'
import type { Logger } from '../io/log.js'
import { applyLoaded, applyNetworkChange, type ApplyResult, type LiveNodeControl } from '../node/live-apply.js'
import type { AppliedConfigView } from './relay-views.js'

/** One live change as `status` shows it. */
export interface ChangeRecord {
  /** What asked for it: `SIGHUP`, `reload` (the control socket) or another caller's word. */
  trigger: string
  /** Wall-clock time, ISO 8601, for the operator's logs (never used to compute anything). */
  at: string
  result: ApplyResult
}

export class ConfigReloader {
  private last: ChangeRecord | undefined
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly node: { live: LiveNodeControl },
    /** The file to re-read; undefined when the config did not come from a file. */
    private readonly path: string | undefined,
    private readonly log: Logger,
  ) {}

  /** Re-reads the config file and applies it. */
  reload(trigger: string): Promise<ApplyResult> {
    const path = this.path
    if (path === undefined) {
      return this.run(trigger, async () => ({ status: 'invalid', reasons: [{ path: '', message: 'this relay was not started from a config file; there is nothing to re-read', fix: 'start it with overpass up -c FILE' }] }))
    }
    return this.run(trigger, async () => {
      const result = await applyLoaded(this.node, () => this.notOlder(loadConfig(path)))
      return result
    })
  }

  /** A reload never goes back to an older signed network version (a rollback is an explicit `apply`). */
  private notOlder(next: RelayConfig): RelayConfig {
    const running = this.node.live.config.network?.version
    const loaded = next.network?.version
    if (running === undefined || loaded === undefined || loaded >= running) return next
    throw new ConfigError(
      [{ file: next.network!.file, path: 'version', message: `network version ${loaded} is older than version ${running}, which this relay runs; versions only grow`, fix: 'sign the file again to give it a new version: overpass network sign --key OPERATOR_KEY network.yaml' }],
      next.sourcePath,
    )
  }

  /** Applies a config someone else loaded and validated (an adopted signed network version). */
  apply(trigger: string, next: RelayConfig): Promise<ApplyResult> {
    return this.run(trigger, () => applyNetworkChange(this.node, next))
  }

  view(): AppliedConfigView {
    const version = this.node.live.config.network?.version
    return { ...(version !== undefined ? { network_version: version } : {}), ...(this.last !== undefined ? { last_change: this.last } : {}), handing_over: this.node.live.handingOver }
  }

  private run(trigger: string, apply: () => Promise<ApplyResult>): Promise<ApplyResult> {
    const next = this.queue.then(async () => {
      const result = await apply()
      this.last = { trigger, at: new Date().toISOString(), result: reportable(result) }
      this.logResult(trigger, result)
      return result
    })
    this.queue = next.catch(() => undefined)
    return next
  }

  private logResult(trigger: string, r: ApplyResult): void {
    const base = { trigger, ...(r.version !== undefined ? { network_version: r.version } : {}) }
    if (r.status === 'applied') this.log.info('config change applied', { ...base, changes: r.changes, hand_over: r.handOver })
    else if (r.status === 'unchanged') this.log.info('config re-read: nothing changed', base)
    else if (r.status === 'needs-restart') this.log.warn('config change NOT applied: it needs a restart; still running the previous config', { ...base, fields: r.fields.map((f) => f.message) })
    else if (r.status === 'failed') this.log.warn('config change NOT applied: the relay could not carry it out; still running the previous config', { ...base, reasons: r.reasons.map((i) => `${i.path}: ${i.message}`) })
    else this.log.warn('config change NOT applied: the new config is invalid; still running the previous config', { ...base, reasons: r.reasons.map((i) => `${i.file ?? ''}${i.file ? ': ' : ''}${i.path}: ${i.message}`) })
  }
}

/** The result without the diff's repetition (status shows `changes`). */
function reportable(r: ApplyResult): ApplyResult {
  if (r.status !== 'applied') return r
  const { diff: _diff, ...rest } = r
  return rest as ApplyResult
}
