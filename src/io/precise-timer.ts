/**
 * A one-shot timer with sub-millisecond precision that does not burn CPU:
 * a timerfd watched on the Node loop (native/hrtimer.c). Node's setTimeout
 * only resolves whole milliseconds, and spinning for the remainder is what
 * gets a SCHED_RR process throttled for 50 ms at a time (see the addon).
 *
 * One timer, re-armed as often as needed; `arm` replaces any pending expiry.
 * The callback runs on the loop like any I/O callback. Linux only:
 * `preciseTimerAvailable()` says whether it can be used here.
 *
 * Example:
 *   const t = openPreciseTimer(() => release())
 *   t.arm(0.35)        // ms from now
 *   t.close()
 */
import { loadNativeAddon, REBUILD_FIX, type AddonLoad } from './native-addon.js'

interface NativeHrTimer {
  create(onExpire: (status: number) => void): object
  arm(timer: object, delayNs: number): number
  disarm(timer: object): number
  close(timer: object): void
}

export interface PreciseTimer {
  /** Fires once, `delayMs` from now (<= 0: on the next loop turn). Replaces a pending expiry. */
  arm(delayMs: number): void
  disarm(): void
  close(): void
}

/** The timer cannot be used here (not Linux, or the addon is not built). */
export class PreciseTimerUnavailableError extends Error {
  override readonly name = 'PreciseTimerUnavailableError'
  constructor(readonly reason: string, readonly fix: string) {
    super(`precise timer unavailable: ${reason}. Fix: ${fix}`)
  }
}

/** The kernel refused to arm the timerfd (should not happen; carries the errno). */
export class PreciseTimerError extends Error {
  override readonly name = 'PreciseTimerError'
  constructor(readonly op: string, readonly errno: number) {
    super(`precise timer ${op} failed: errno ${errno}`)
  }
}

function loadAddon(): AddonLoad<NativeHrTimer> {
  return loadNativeAddon<NativeHrTimer>('overpass_hrtimer', 'OVERPASS_HRTIMER_ADDON')
}

export function preciseTimerAvailable(): { ok: boolean; reason?: string } {
  const load = loadAddon()
  return load.addon ? { ok: true } : { ok: false, reason: load.error }
}

export function openPreciseTimer(onExpire: () => void): PreciseTimer {
  const load = loadAddon()
  if (load.error !== undefined) throw new PreciseTimerUnavailableError(load.error, REBUILD_FIX)
  const native = load.addon
  let closed = false
  const handle = native.create((status) => {
    if (status < 0) throw new PreciseTimerError('poll', -status)
    onExpire()
  })
  return {
    arm(delayMs: number): void {
      if (closed) return
      const rc = native.arm(handle, delayMs * 1e6)
      if (rc < 0) throw new PreciseTimerError('arm', -rc)
    },
    disarm(): void {
      if (!closed) native.disarm(handle)
    },
    close(): void {
      if (closed) return
      closed = true
      native.close(handle)
    },
  }
}
