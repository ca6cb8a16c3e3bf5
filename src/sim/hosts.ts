/**
 * Where the partitions' event loops run. `LocalHost`: in this thread, in
 * windows of at most the lookahead (`begin` runs a window with the delay
 * changes and the messages the other loop sent last window, `finish` hands
 * back its outbox); one loop, or two in one thread (tests). `ThreadHost`:
 * loop 1 in a worker thread (worker.ts), loop 0 here, both advancing to
 * each barrier in step by their published progress (synced-loop.ts).
 *
 * The thread protocol is synchronous, so the simulator's API stays
 * synchronous: commands, replies and outboxes go over MessagePorts
 * (structured clone; outbox buffers are transferred, not copied) and each
 * side waits for the other's counter in a SharedArrayBuffer with
 * Atomics.wait, reading messages with receiveMessageOnPort. No event loop
 * turns in between.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads'
import { SimConfigError } from './errors.js'
import { Partition, type Outbox, type PartitionCounters, type PartitionInit } from './partition.js'
import { SIG_PUBLISHED, SIGNAL_BYTES, StallWatch, SyncedLoop } from './synced-loop.js'

export interface HostStats {
  counters: PartitionCounters
  routers: Record<string, number>
  /** Wall time spent running windows, ms. */
  busyMs: number
  /** Wall time spent waiting for the other loop, ms. */
  waitMs?: number
}

/** Delay changes travel as [link, delayMs, link, delayMs, ...]. */
function applyDelays(p: Partition, delays: number[]): void {
  for (let i = 0; i < delays.length; i += 2) p.setDelay(delays[i], delays[i + 1])
}

export class LocalHost {
  readonly partition: Partition
  private busyMs = 0

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

  paths(tMs: number, pairs: Int32Array | undefined): Int32Array {
    return this.partition.paths(tMs, pairs)
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
  /** Commands and replies. */
  port: MessagePort
  /** Outboxes between the two loops (synced-loop.ts). */
  data: MessagePort
  signal: SharedArrayBuffer
  lookaheadMs: number
}

export type Command =
  | { cmd: 'run'; endMs: number; delays: number[] }
  | { cmd: 'paths'; tMs: number; pairs: Int32Array | undefined }
  | { cmd: 'stats' }
  | { cmd: 'stop' }

/** signal[0]: commands posted by the coordinator; signal[1]: replies posted by the worker. */
export const SIG_COMMANDS = 0
export const SIG_REPLIES = 1

/** How long to wait for a worker between checks that it is still alive, ms. */
const WAIT_SLICE_MS = 1000

/**
 * Loop 1 in a worker thread. Loop 0 (this thread's partition) and loop 1
 * advance together to each barrier with `runTo` (synced-loop.ts); between
 * barriers the coordinator asks for paths and stats.
 */
export class ThreadHost {
  private readonly worker: Worker
  private readonly port: MessagePort
  private readonly sig: Int32Array
  private readonly dataPort: MessagePort
  private readonly signal: SharedArrayBuffer
  private readonly lookaheadMs: number
  private loop: SyncedLoop | undefined
  private sent = 0
  private exited = false
  private readonly stall = new StallWatch('the simulator worker thread')

  /** Starts the worker (it builds its routers while this thread builds loop 0's, then `attach`es them). */
  constructor(init: Omit<PartitionInit, 'createRouter'>, routerModule: string, lookaheadMs: number) {
    const cmd = new MessageChannel()
    const data = new MessageChannel()
    this.port = cmd.port1
    const signal = new SharedArrayBuffer(SIGNAL_BYTES)
    this.sig = new Int32Array(signal, 0, 4)
    const wd: WorkerData = { init, routerModule, port: cmd.port2, data: data.port2, signal, lookaheadMs }
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: wd, transferList: [cmd.port2, data.port2] })
    // The simulator never waits on the worker through the event loop.
    this.worker.unref()
    this.worker.on('exit', () => (this.exited = true))
    this.dataPort = data.port1
    this.signal = signal
    this.lookaheadMs = lookaheadMs
  }

  /** Loop 0: this thread's partition. */
  attach(local: Partition): void {
    this.loop = new SyncedLoop(local, 0, this.dataPort, this.signal, this.lookaheadMs, () => !this.exited)
  }

  private get synced(): SyncedLoop {
    if (this.loop === undefined) throw new Error('ThreadHost: attach() loop 0 first')
    return this.loop
  }

  private post(c: Command): void {
    this.port.postMessage(c)
    this.sent++
    Atomics.add(this.sig, SIG_COMMANDS, 1)
    Atomics.notify(this.sig, SIG_COMMANDS)
  }

  private reply<T>(): T {
    this.stall.reset()
    for (;;) {
      const got = Atomics.load(this.sig, SIG_REPLIES)
      if (got >= this.sent) break
      // Signs of life: a reply, or loop 1 publishing progress while it runs the command.
      this.stall.saw(got + Atomics.load(this.sig, SIG_PUBLISHED + 1))
      if (Atomics.wait(this.sig, SIG_REPLIES, got, WAIT_SLICE_MS) === 'timed-out') {
        if (this.exited) throw new SimConfigError('--workers', 'the simulator worker thread exited unexpectedly')
        this.stall.check()
      }
    }
    const m = receiveMessageOnPort(this.port)?.message as { ok: T } | { error: string } | undefined
    if (m === undefined) throw new SimConfigError('--workers', 'the simulator worker thread replied nothing')
    if ('error' in m) throw new Error(`simulator worker: ${m.error}`)
    return m.ok
  }

  /** Both loops process every event before `endMs` (this thread runs loop 0 meanwhile). */
  runTo(endMs: number, delays: number[]): void {
    this.post({ cmd: 'run', endMs, delays })
    for (let i = 0; i < delays.length; i += 2) this.synced.partition.setDelay(delays[i], delays[i + 1])
    this.synced.runTo(endMs)
    this.reply<true>()
  }

  requestPaths(tMs: number, pairs: Int32Array | undefined): void {
    this.post({ cmd: 'paths', tMs, pairs })
  }

  takePaths(): Int32Array {
    return this.reply<Int32Array>()
  }

  /** Loop 0's busy and wait times (its counters come from its LocalHost). */
  localTimes(): { busyMs: number; waitMs: number } {
    return { busyMs: this.synced.busyMs, waitMs: this.synced.waitMs }
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
