/** Polls `probe` until it returns a value `done` accepts; fails with the last value on timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await Bun.sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(last)}; last error ${String(lastError)}`);
}
