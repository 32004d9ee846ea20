/**
 * `p`, or a rejection with `message` (default "no answer within <ms> ms") once `ms` have passed;
 * the timer is cleared either way. `p` itself goes on: a caller that must stop it says so.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, message = `no answer within ${ms} ms`): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
