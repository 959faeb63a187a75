/**
 * Waits for a promise at most `ms` milliseconds: a dependency that hangs is
 * treated like one that refuses, so the caller can fail closed in bounded time.
 *
 * @param promise the operation
 * @param ms the longest wait, in milliseconds
 * @returns what the promise resolves to
 * @throws Error `no answer within <ms> ms` on time-out, or whatever the promise rejects with
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
