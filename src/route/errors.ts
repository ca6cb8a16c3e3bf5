/** Thrown by createRouter for an inconsistent RouterInit (control path only). */
export class RouterConfigError extends Error {
  override readonly name = 'RouterConfigError'
  constructor(
    /** The RouterInit field at fault, e.g. "services[1].exits". */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`)
  }
}
