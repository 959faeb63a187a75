/**
 * Waits until `condition` holds, checking every 10 ms: for a test that waits
 * on something another timer, process or connection does in its own time,
 * instead of sleeping a guess that a busy machine can outlast.
 *
 * @param condition checked until it returns true (it may be async)
 * @param what what is awaited, for the error
 * @param timeoutMs how long to wait at most, in milliseconds (default 10000)
 * @throws Error `timed out after N ms waiting for <what>`
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
