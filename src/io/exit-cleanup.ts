/**
 * Cleanup for commands that start processes or namespaces (the demo, the
 * benches): SIGINT or SIGTERM runs `cleanup` and exits with 130; any other
 * exit runs `onExit`, which must be synchronous and safe to run twice (it
 * is the last resort after an uncaught error, when `cleanup` may already have
 * run). Returns a function that removes the handlers, for when the command
 * has cleaned up by itself.
 */
export function cleanUpOnExit(cleanup: () => void, onExit?: () => void): () => void {
  const onSignal = (): void => {
    cleanup()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  if (onExit) process.once('exit', onExit)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
