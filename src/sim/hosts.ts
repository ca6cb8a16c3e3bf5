/**
 * Where a partition's event loop runs: in this thread (`LocalHost`) or in a
 * worker thread (`ThreadHost`, src/sim/worker.ts). Both are driven the same
 * way by the coordinator: `begin` a window (delay changes, the messages the
 * other partition sent last window, run until `endMs`), then `finish` it
 * (its outbox). A thread works between the two calls while this thread
 * runs its own partition.
 *
 * The thread protocol is synchronous, so the simulator's API stays
 * synchronous: commands and replies go over a MessagePort (structured
 * clone; outbox buffers are transferred, not copied) and each side waits
 * for the other's counter in a SharedArrayBuffer with Atomics.wait, reading
 * the message with receiveMessageOnPort. No event loop turns in between.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads'
import { SimConfigError } from './errors.js'
import { Partition, type Outbox, type PartitionCounters, type PartitionInit } from './partition.js'

export interface PartitionHost {
  begin(endMs: number, delays: number[], inbox: Outbox | undefined): void
  finish(): Outbox
  /** Asks for Partition.paths(tMs, pairs); `takePaths` returns them (a thread works in between). */
  requestPaths(tMs: number, pairs: Int32Array | undefined): void
  takePaths(): Int32Array
  stats(): HostStats
  close(): void
}

export interface HostStats {
  counters: PartitionCounters
  routers: Record<string, number>
  /** Wall time spent running windows, ms. */
  busyMs: number
}

/** Delay changes travel as [link, delayMs, link, delayMs, ...]. */
function applyDelays(p: Partition, delays: number[]): void {
  for (let i = 0; i < delays.length; i += 2) p.setDelay(delays[i], delays[i + 1])
}

export class LocalHost implements PartitionHost {
  readonly partition: Partition
  private busyMs = 0
  private paths: Int32Array = new Int32Array(0)

  /** `copyInbox`: copy inbound control messages as a thread would (in-thread runs of several partitions). */
  constructor(
    init: PartitionInit,
    private readonly copyInbox: boolean,
  ) {
    this.partition = new Partition(init)
    this.partition.start()
  }

  begin(endMs: number, delays: number[], inbox: Outbox | undefined): void {
    const t0 = performance.now()
    applyDelays(this.partition, delays)
    if (inbox !== undefined) this.partition.deliver(this.copyInbox ? { ...inbox, msgs: structuredClone(inbox.msgs) } : inbox)
    this.partition.runUntil(endMs)
    this.busyMs += performance.now() - t0
  }

  finish(): Outbox {
    return this.partition.takeOutbox()
  }

  requestPaths(tMs: number, pairs: Int32Array | undefined): void {
    this.paths = this.partition.paths(tMs, pairs)
  }

  takePaths(): Int32Array {
    return this.paths
  }

  stats(): HostStats {
    return { counters: { ...this.partition.counters }, routers: this.partition.routerCounters(), busyMs: this.busyMs }
  }

  close(): void {}
}

/** What the worker gets: the partition's init minus the factory, plus where to import the factory from. */
export interface WorkerData {
  init: Omit<PartitionInit, 'createRouter'>
  routerModule: string
  port: MessagePort
  signal: SharedArrayBuffer
}

export type Command =
  | { cmd: 'run'; endMs: number; delays: number[]; inbox: Outbox | undefined }
  | { cmd: 'paths'; tMs: number; pairs: Int32Array | undefined }
  | { cmd: 'stats' }
  | { cmd: 'stop' }

/** signal[0]: commands posted by the coordinator; signal[1]: replies posted by the worker. */
export const SIG_COMMANDS = 0
export const SIG_REPLIES = 1

/** How long to wait for a worker between checks that it is still alive, ms. */
const WAIT_SLICE_MS = 1000

export class ThreadHost implements PartitionHost {
  private readonly worker: Worker
  private readonly port: MessagePort
  private readonly sig: Int32Array
  private sent = 0
  private exited = false
  /** Wall time this thread waited for the worker at the end of windows, ms. */
  waitMs = 0

  constructor(init: Omit<PartitionInit, 'createRouter'>, routerModule: string) {
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    const signal = new SharedArrayBuffer(8)
    this.sig = new Int32Array(signal)
    const data: WorkerData = { init, routerModule, port: port2, signal }
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data, transferList: [port2] })
    // The simulator never waits on the worker through the event loop.
    this.worker.unref()
    this.worker.on('exit', () => (this.exited = true))
  }

  private post(c: Command, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(c, transfer)
    this.sent++
    Atomics.add(this.sig, SIG_COMMANDS, 1)
    Atomics.notify(this.sig, SIG_COMMANDS)
  }

  private reply<T>(): T {
    for (;;) {
      const got = Atomics.load(this.sig, SIG_REPLIES)
      if (got >= this.sent) break
      if (Atomics.wait(this.sig, SIG_REPLIES, got, WAIT_SLICE_MS) === 'timed-out' && this.exited) {
        throw new SimConfigError('--workers', 'the simulator worker thread exited unexpectedly')
      }
    }
    const m = receiveMessageOnPort(this.port)?.message as { ok: T } | { error: string } | undefined
    if (m === undefined) throw new SimConfigError('--workers', 'the simulator worker thread replied nothing')
    if ('error' in m) throw new Error(`simulator worker: ${m.error}`)
    return m.ok
  }

  begin(endMs: number, delays: number[], inbox: Outbox | undefined): void {
    this.post({ cmd: 'run', endMs, delays, inbox }, inbox === undefined ? [] : [inbox.f64.buffer as ArrayBuffer])
  }

  finish(): Outbox {
    const t0 = performance.now()
    const ob = this.reply<Outbox>()
    this.waitMs += performance.now() - t0
    return ob
  }

  requestPaths(tMs: number, pairs: Int32Array | undefined): void {
    this.post({ cmd: 'paths', tMs, pairs })
  }

  takePaths(): Int32Array {
    return this.reply<Int32Array>()
  }

  stats(): HostStats {
    this.post({ cmd: 'stats' })
    return this.reply()
  }

  close(): void {
    if (this.exited) return
    this.post({ cmd: 'stop' })
    this.reply<true>()
    this.port.close()
  }
}
