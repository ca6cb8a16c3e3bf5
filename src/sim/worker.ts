/**
 * A simulator worker thread: runs one partition's event loop (partition.ts)
 * for the coordinator in hosts.ts (ThreadHost), one command at a time. The
 * router factory is the `createRouter` export of `routerModule`, imported
 * here because functions cannot cross threads.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads'
import type { Router, RouterInit } from '../route/types.js'
import { SIG_COMMANDS, SIG_REPLIES, type Command, type WorkerData } from './hosts.js'
import { Partition } from './partition.js'
import { SyncedLoop } from './synced-loop.js'

const data = workerData as WorkerData
const sig = new Int32Array(data.signal)

let loop: SyncedLoop | undefined
let failed: string | undefined
try {
  const mod = (await import(data.routerModule)) as { createRouter: (init: RouterInit) => Router }
  const partition = new Partition({ ...data.init, createRouter: mod.createRouter })
  partition.start()
  loop = new SyncedLoop(partition, 1, data.data, data.signal, data.lookaheadMs)
} catch (err) {
  failed = err instanceof Error ? (err.stack ?? err.message) : String(err)
}

function handle(l: SyncedLoop, c: Command): { value: unknown; transfer: ArrayBuffer[] } {
  const p = l.partition
  switch (c.cmd) {
    case 'run': {
      for (let i = 0; i < c.delays.length; i += 2) p.setDelay(c.delays[i], c.delays[i + 1])
      l.runTo(c.endMs)
      return { value: true, transfer: [] }
    }
    case 'paths': {
      const paths = p.paths(c.tMs, c.pairs)
      return { value: paths, transfer: [paths.buffer as ArrayBuffer] }
    }
    case 'stats':
      return { value: { counters: { ...p.counters }, routers: p.routerCounters(), busyMs: l.busyMs, waitMs: l.waitMs }, transfer: [] }
    case 'stop':
      return { value: true, transfer: [] }
  }
}

let seen = 0
for (;;) {
  Atomics.wait(sig, SIG_COMMANDS, seen)
  const posted = Atomics.load(sig, SIG_COMMANDS)
  let stop = false
  for (; seen < posted; seen++) {
    const c = receiveMessageOnPort(data.port)?.message as Command
    try {
      if (loop === undefined) throw new Error(failed)
      const { value, transfer } = handle(loop, c)
      data.port.postMessage({ ok: value }, transfer)
    } catch (err) {
      data.port.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    }
    Atomics.add(sig, SIG_REPLIES, 1)
    Atomics.notify(sig, SIG_REPLIES)
    if (c.cmd === 'stop') stop = true
  }
  if (stop) break
}
data.port.close()
data.data.close()
