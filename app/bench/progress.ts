/** A one-line progress bar with an ETA on stderr, redrawn at most 5 times a second. */
export type Progress = { tick(done: number): void; end(note?: string): void };

export function startProgress(label: string, total: number, write = (s: string) => process.stderr.write(s)): Progress {
  const started = performance.now();
  let last = 0;
  const tty = process.stderr.isTTY === true;
  const draw = (done: number, final: boolean) => {
    const now = performance.now();
    if (!final && now - last < (tty ? 200 : 5000)) return;
    last = now;
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (now - started) / 1000;
    const eta = share > 0 ? (elapsed / share) * (1 - share) : Number.NaN;
    const bar = "#".repeat(Math.round(share * 24)).padEnd(24, ".");
    const line = `${label} [${bar}] ${(share * 100).toFixed(0).padStart(3)}% ${elapsed.toFixed(1)} s${
      final ? "" : `, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : "?"}`
    }`;
    write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  return {
    tick: (done) => draw(done, false),
    end: (note) => {
      draw(total, true);
      write(`${note ? `  ${note}` : ""}\n`);
    },
  };
}
