/**
 * docs/soak.svg: the soak's samples over time in three panels (memory, open files, spool and lag),
 * with a dashed line where each fault was applied.
 */

import type { SoakResult } from "./soak-run.ts";
import type { Sample } from "./soak-sample.ts";

type Series = { name: string; color: string; dash?: boolean; value: (s: Sample) => number | undefined };
type Panel = { title: string; unit: string; series: Series[] };

const MiB = 2 ** 20;
const SERVE = "#336791";
const CONSUME = "#e0a100";
const W = 760;
const L = 60;
const R = 170;
const PANEL_H = 150;
const GAP = 40;
const TOP = 30;

const PANELS: Panel[] = [
  {
    title: "memory",
    unit: "MiB",
    series: [
      { name: "serve RSS", color: SERVE, value: (s) => mibOf(s.serve.rssBytes) },
      { name: "serve JS heap", color: SERVE, dash: true, value: (s) => mibOf(s.serve.heapBytes) },
      { name: "consume RSS", color: CONSUME, value: (s) => mibOf(s.consume.rssBytes) },
      { name: "consume JS heap", color: CONSUME, dash: true, value: (s) => mibOf(s.consume.heapBytes) },
    ],
  },
  {
    title: "open files",
    unit: "fds",
    series: [
      { name: "serve", color: SERVE, value: (s) => s.serve.openFiles },
      { name: "consume", color: CONSUME, value: (s) => s.consume.openFiles },
    ],
  },
  {
    title: "spool and consumer lag",
    unit: "KiB / messages",
    series: [
      { name: "spool on disk KiB", color: "#7a3e9d", value: (s) => s.spoolBytes / 1024 },
      { name: "lag PostgreSQL", color: SERVE, dash: true, value: (s) => s.lag.postgres },
      { name: "lag ClickHouse", color: CONSUME, dash: true, value: (s) => s.lag.clickhouse },
    ],
  },
];

function mibOf(b: number | undefined): number | undefined {
  return b === undefined ? undefined : b / MiB;
}

/** A rounded top for an axis: 1, 2 or 5 times a power of ten. */
function niceTop(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((m) => m * p >= max) ?? 10) * p;
}

/** A path through the defined values; a gap (process restarting, store down) starts a new stroke. */
function pathOf(samples: Sample[], s: Series, px: (t: number) => number, py: (v: number) => number): string {
  let d = "";
  let pen = "M";
  for (const sample of samples) {
    const v = s.value(sample);
    if (v === undefined) {
      pen = "M";
      continue;
    }
    d += `${pen}${px(sample.t).toFixed(1)},${py(v).toFixed(1)} `;
    pen = "L";
  }
  return d.trim();
}

function renderPanel(p: Panel, top: number, samples: Sample[], px: (t: number) => number): string[] {
  const values = samples.flatMap((s) => p.series.map((x) => x.value(s)).filter((v): v is number => v !== undefined));
  const yTop = niceTop(Math.max(0, ...values));
  const py = (v: number) => top + PANEL_H - (v / yTop) * PANEL_H;
  const out = [`<text x="${L}" y="${top - 8}" font-size="12">${p.title} (${p.unit})</text>`];
  for (const f of [0, 0.5, 1]) {
    const y = py(yTop * f);
    out.push(
      `<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${y + 4}" text-anchor="end">${(yTop * f).toLocaleString("en-US")}</text>`,
    );
  }
  p.series.forEach((s, i) => {
    const dash = s.dash ? ' stroke-dasharray="5,3"' : "";
    const ly = top + 10 + i * 14;
    out.push(
      `<path d="${pathOf(samples, s, px, py)}" fill="none" stroke="${s.color}" stroke-width="1.5"${dash}><title>${s.name}</title></path>`,
      `<line x1="${W - R + 10}" x2="${W - R + 30}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="1.5"${dash}/>`,
      `<text x="${W - R + 34}" y="${ly + 4}">${s.name}</text>`,
    );
  });
  return out;
}

export function renderSoakSvg(r: SoakResult): string {
  const samples = r.samples;
  const tEnd = Math.max(r.options.minutes * 60, samples.at(-1)?.t ?? 0);
  const px = (t: number) => L + (t / tEnd) * (W - L - R);
  const H = TOP + PANELS.length * (PANEL_H + GAP) + 10;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="16" font-size="13">The soak: ${r.options.minutes} min, a fault every ${r.options.faultEveryMinutes} min (dashed red lines)</text>`,
  ];
  PANELS.forEach((p, i) => {
    const top = TOP + 14 + i * (PANEL_H + GAP);
    out.push(...renderPanel(p, top, samples, px));
    for (const f of r.faults) {
      out.push(
        `<line x1="${px(f.at)}" x2="${px(f.at)}" y1="${top}" y2="${top + PANEL_H}" stroke="#c0392b" stroke-dasharray="3,3"><title>${f.name}</title></line>`,
      );
      if (i === 0) out.push(`<text x="${px(f.at) + 3}" y="${top + 10}" fill="#c0392b">${f.name}</text>`);
    }
    for (let m = 0; m * 60 <= tEnd; m += Math.max(1, Math.round(tEnd / 60 / 10))) {
      out.push(`<text x="${px(m * 60)}" y="${top + PANEL_H + 14}" text-anchor="middle">${m}</text>`);
    }
  });
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle">minutes</text>`, "</svg>");
  return `${out.join("\n")}\n`;
}
