/**
 * Typed errors of the simulator's inputs (control path: they stop the run and
 * say exactly where the input is wrong).
 */

/** A row of a latency CSV that cannot be used; `line` and `column` are 1-based. */
export class MatrixParseError extends Error {
  override readonly name = 'MatrixParseError'

  constructor(
    readonly source: string,
    readonly line: number,
    readonly column: string | undefined,
    readonly reason: string,
  ) {
    super(`${source}:${line}${column === undefined ? '' : ` column ${column}`}: ${reason}`)
  }
}

/** An events file entry that cannot be used; `index` is the 0-based entry. */
export class EventsParseError extends Error {
  override readonly name = 'EventsParseError'

  constructor(
    readonly source: string,
    readonly index: number | undefined,
    readonly reason: string,
  ) {
    super(`${source}${index === undefined ? '' : ` event[${index}]`}: ${reason}`)
  }
}

/** A simulation option that does not fit the matrix (unknown site, too few relays). */
export class SimConfigError extends Error {
  override readonly name = 'SimConfigError'

  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`${option}: ${reason}`)
  }
}
