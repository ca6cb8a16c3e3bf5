/**
 * Linux TUN devices behind the TunDevice interface, through the small N-API
 * addon in native/tun.c (built by `npm ci` from binding.gyp): Node has no
 * ioctl, and TUNSETIFF is an ioctl.
 *
 * Reads are event-driven on the Node loop: the addon watches the fd with
 * uv_poll, reads a batch per wake into one preallocated Buffer and calls back
 * with each packet's length. The handler gets a view of that Buffer, cached
 * per length, so a packet costs no allocation; it is only valid during the
 * call. Writes are synchronous non-blocking write(2) calls: a full queue drops
 * the packet (counted), it never queues in JS.
 *
 * Example:
 *   const tun = openTun('ovp0')
 *   configureTun(tun.name, { mtu: 1400, addresses: ['198.18.0.1/30'] })
 *   tun.onPacket((pkt) => relay(pkt))
 */
import { execFileSync } from 'node:child_process'
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs'
import { getSystemErrorName } from 'node:util'
import type { TunDevice } from './index.js'
import { loadNativeAddon, REBUILD_FIX, type AddonLoad } from './native-addon.js'

/** The largest IP packet; TUN without IFF_VNET_HDR never delivers more than the MTU. */
const READ_BUFFER_BYTES = 65536
/** Linux IFNAMSIZ is 16 including the terminating NUL. */
const MAX_NAME_CHARS = 15
const CAP_NET_ADMIN_BIT = 12n
const TUN_PATH = '/dev/net/tun'

interface NativeTun {
  open(name: string, multiQueue: boolean): { fd: number; name: string }
  poll(fd: number, buffer: Buffer, onRead: (lengthOrNegErrno: number) => void): object
  unpoll(poller: object): void
  write(fd: number, buffer: Buffer, offset: number, length: number): number
  close(fd: number): number
}

/** TUN cannot work here at all: no addon, no /dev/net/tun, or no privilege. `fix` says what to do. */
export class TunUnavailableError extends Error {
  override readonly name = 'TunUnavailableError'
  constructor(readonly reason: string, readonly fix: string) {
    super(`TUN unavailable: ${reason}. Fix: ${fix}`)
  }
}

/** The kernel refused this particular device (name in use, bad name, flag mismatch). */
export class TunOpenError extends Error {
  override readonly name = 'TunOpenError'
  constructor(readonly device: string, readonly code: string, detail: string) {
    super(`cannot open TUN device "${device}": ${detail}`)
  }
}

/** An `ip` command for a TUN device failed; `stderr` is what ip printed. */
export class TunConfigError extends Error {
  override readonly name = 'TunConfigError'
  constructor(readonly device: string, readonly args: string[], readonly stderr: string) {
    super(`ip ${args.join(' ')} failed for "${device}": ${stderr.trim()}`)
  }
}

export interface TunOptions {
  /** IFF_MULTI_QUEUE: each openTun with the same name adds a queue (one fd each). */
  multiQueue?: boolean
}

export interface TunStats {
  rxPackets: number
  txPackets: number
  /** Writes the kernel did not take (queue full, device down, malformed packet). */
  txDropped: number
  rxErrors: number
}

function loadAddon(): AddonLoad<NativeTun> {
  return loadNativeAddon<NativeTun>('overpass_tun', 'OVERPASS_TUN_ADDON')
}

function hasNetAdmin(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    return m !== null && ((BigInt('0x' + m[1]) >> CAP_NET_ADMIN_BIT) & 1n) === 1n
  } catch {
    return process.getuid?.() === 0
  }
}

function unavailable(): TunUnavailableError | undefined {
  if (process.platform !== 'linux') return new TunUnavailableError(`platform is ${process.platform}`, 'TUN support is Linux only')
  const load = loadAddon()
  if (load.error !== undefined) return new TunUnavailableError(load.error, REBUILD_FIX)
  if (!existsSync(TUN_PATH)) return new TunUnavailableError(`${TUN_PATH} does not exist`, 'load the module with `modprobe tun`, or pass --device /dev/net/tun to the container')
  if (!hasNetAdmin()) return new TunUnavailableError('this process lacks CAP_NET_ADMIN', 'run as root, or `setcap cap_net_admin+ep $(which node)`')
  try {
    accessSync(TUN_PATH, fsConstants.R_OK | fsConstants.W_OK)
  } catch {
    return new TunUnavailableError(`${TUN_PATH} is not readable and writable`, `run as root, or grant access to ${TUN_PATH}`)
  }
  return undefined
}

/** Whether openTun can work in this process; tests use it to skip cleanly. */
export function tunAvailable(): { ok: boolean; reason?: string } {
  const err = unavailable()
  return err ? { ok: false, reason: err.message } : { ok: true }
}

function validName(name: string): boolean {
  return name.length <= MAX_NAME_CHARS && name !== '.' && name !== '..' && !/[\s/:]/.test(name)
}

function openError(name: string, err: NodeJS.ErrnoException): Error {
  const code = err.code ?? 'UNKNOWN'
  if (code === 'EPERM' || code === 'EACCES') return new TunUnavailableError(err.message, 'run as root or with CAP_NET_ADMIN')
  if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO') return new TunUnavailableError(err.message, 'load the module with `modprobe tun`')
  if (code === 'EBUSY') return new TunOpenError(name, code, `${err.message} (another process holds it, or it exists with a different queue mode)`)
  return new TunOpenError(name, code, err.message)
}

/** Opens (creating if needed) TUN device `name` (IFF_TUN|IFF_NO_PI). '' or 'x%d' lets the kernel pick. */
export function openTun(name: string, opts: TunOptions = {}): LinuxTun {
  if (!validName(name)) throw new TunOpenError(name, 'EINVAL', `a name is at most ${MAX_NAME_CHARS} characters with no whitespace, "/" or ":"`)
  const missing = unavailable()
  if (missing) throw missing
  const native = loadAddon().addon!
  let opened: { fd: number; name: string }
  try {
    opened = native.open(name, opts.multiQueue ?? false)
  } catch (err) {
    throw openError(name, err as NodeJS.ErrnoException)
  }
  try {
    return new LinuxTun(native, opened.fd, opened.name)
  } catch (err) {
    native.close(opened.fd)
    throw new TunOpenError(opened.name, (err as NodeJS.ErrnoException).code ?? 'UNKNOWN', `cannot watch the fd: ${(err as Error).message}`)
  }
}

export class LinuxTun implements TunDevice {
  readonly stats: TunStats = { rxPackets: 0, txPackets: 0, txDropped: 0, rxErrors: 0 }
  private readonly readBuf = Buffer.alloc(READ_BUFFER_BYTES)
  /** One view of readBuf per packet length seen, so delivering a packet allocates nothing. */
  private readonly views = new Map<number, Buffer>()
  private readonly poller: object
  private handler: (packet: Buffer) => void = () => {}
  private errorHandler: (err: Error) => void = () => {}
  private closed = false

  constructor(private readonly native: NativeTun, private readonly fd: number, readonly name: string) {
    this.poller = native.poll(fd, this.readBuf, this.onRead)
  }

  onPacket(handler: (packet: Buffer) => void): void {
    this.handler = handler
  }

  /** Called once if reading fails for good (e.g. the device was deleted); reading has stopped. */
  onError(handler: (err: Error) => void): void {
    this.errorHandler = handler
  }

  write(packet: Buffer, offset: number, length: number): boolean {
    if (this.closed) return false
    if (this.native.write(this.fd, packet, offset, length) === length) {
      this.stats.txPackets++
      return true
    }
    this.stats.txDropped++
    return false
  }

  /** Stops reading and closes the fd; the kernel deletes the device when its last queue closes. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.native.unpoll(this.poller)
    this.native.close(this.fd)
  }

  private readonly onRead = (length: number): void => {
    if (length < 0) {
      this.stats.rxErrors++
      const code = getSystemErrorName(length)
      this.errorHandler(Object.assign(new Error(`TUN ${this.name} read failed: ${code}`), { code }))
      return
    }
    this.stats.rxPackets++
    let view = this.views.get(length)
    if (view === undefined) {
      view = this.readBuf.subarray(0, length)
      this.views.set(length, view)
    }
    this.handler(view)
  }
}

export interface TunConfig {
  mtu?: number
  /** CIDR strings, e.g. '198.18.0.1/30' or 'fd00::1/64'. */
  addresses?: string[]
  /** Run the commands inside this network namespace (`ip -n`). */
  netns?: string
}

function runIp(device: string, netns: string | undefined, args: string[]): void {
  const full = netns ? ['-n', netns, ...args] : args
  try {
    execFileSync('ip', full, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 })
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string }
    throw new TunConfigError(device, full, e.stderr?.toString() || e.message)
  }
}

/** Sets MTU, brings the link up and adds addresses with iproute2. Control path only (tests, lab, daemon setup). */
export function configureTun(name: string, cfg: TunConfig = {}): void {
  runIp(name, cfg.netns, ['link', 'set', 'dev', name, ...(cfg.mtu ? ['mtu', String(cfg.mtu)] : []), 'up'])
  for (const cidr of cfg.addresses ?? []) runIp(name, cfg.netns, ['addr', 'add', cidr, 'dev', name])
}

/**
 * Moves the device into another network namespace. The open fd keeps working
 * there; the move drops the device's addresses and sets it down, so configure
 * it after moving.
 */
export function moveTunToNetns(name: string, netns: string): void {
  runIp(name, undefined, ['link', 'set', 'dev', name, 'netns', netns])
}
