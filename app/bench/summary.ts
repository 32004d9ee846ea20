/** Median and 95th percentile (nearest rank) of timings in ms. */
export type Timing = { median: number; p95: number; runs: number };

export function summarize(samples: readonly number[]): Timing {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return { median: Number.NaN, p95: Number.NaN, runs: 0 };
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  const p95 = s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] as number;
  return { median: round(median), p95: round(p95), runs: s.length };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** p50, p99 and p99.9 (nearest rank) of latencies in ms, to two decimals. */
export function summarizeLatencies(samples: Float64Array): { p50: number; p99: number; p999: number } {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => (s.length ? round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number) : NaN);
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}
