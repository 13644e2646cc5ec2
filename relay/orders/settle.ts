// What a relay shutting down waits for: work in flight (intake, lab reports), up to a limit.

/** Resolves once every promise in `work` has settled, or after `limitMs`, whichever comes first. */
export async function settleWithin(work: Iterable<Promise<unknown>>, limitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<void>((resolve) => { timer = setTimeout(resolve, limitMs) })
  await Promise.race([Promise.allSettled(work), limit])
  clearTimeout(timer)
}
