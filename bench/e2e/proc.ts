/**
 * Process CPU and memory from /proc. CPU comes from /proc/PID/stat
 * (utime + stime of all threads, in clock ticks of 10 ms), because
 * schedstat stays stale for a process that never sleeps.
 */
import fs from 'node:fs'

const TICK_US = 10_000 // CLK_TCK is 100 on Linux x86-64

/** CPU time used so far by `pid` (all threads), in microseconds; 0 if it is gone. */
export function cpuUs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) * TICK_US
  } catch {
    return 0
  }
}

export function totalCpuUs(pids: number[]): number {
  let t = 0
  for (const p of pids) t += cpuUs(p)
  return t
}

/** Resident set size in MB (VmRSS), or -1 if the process is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : -1
  } catch {
    return -1
  }
}

/**
 * VmRSS split by kind (MB): anonymous memory (V8 heap, malloc, buffers),
 * file-backed pages (the node binary and libraries) and shared memory.
 */
export function rssBreakdownMb(pid: number): { anon: number; file: number; shmem: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? -1024)
    return { anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024, shmem: kb('RssShmem') / 1024 }
  } catch {
    return null
  }
}

export function openFds(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return -1
  }
}

/**
 * CPU time of every thread of `pid` from /proc/PID/task/TID/schedstat, in
 * µs, nanosecond resolution (the 10 ms ticks of /proc/PID/stat cannot
 * resolve a few µs per packet at 1k packets/s). Sound for processes that
 * sleep between packets, as relays at game rates do; 0 if it is gone.
 */
export function cpuUsFine(pid: number): number {
  let ns = 0
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // the thread exited between the listing and the read
      }
    }
  } catch {
    return 0
  }
  return ns / 1000
}
