import { createClient } from "@clickhouse/client-web";
const client = createClient({ url: "http://127.0.0.1:29334", database: "scratch_chdedup" });
const n = Number(process.argv[2] ?? 5000);
const rows = await (await client.query({ query: `SELECT toString(footprint_time) AS t, toString(event_id) AS id FROM t WHERE footprint_time >= '2026-11-01 01:00:00' ORDER BY footprint_time LIMIT ${n}`, format: "JSONEachRow" })).json<{ t: string; id: string }>();
const ids = rows.map((r) => r.id);
const lo = rows[0]!.t, hi = rows[rows.length - 1]!.t;
const txt = async (r: Promise<any>) => (await (await r).text()).split("\n").length;
const variants: Record<string, () => Promise<number>> = {
  select1: () => txt(client.query({ query: "SELECT 1", format: "TabSeparated" })),
  param_len_mp: () => txt(client.query({ query: "SELECT length({ids:Array(UUID)})", query_params: { ids }, format: "TabSeparated", use_multipart_params: true })),
  param_len_url: () => txt(client.query({ query: "SELECT length({ids:Array(UUID)})", query_params: { ids }, format: "TabSeparated" })),
  str_split: () => txt(client.query({ query: "SELECT toString(event_id) FROM t WHERE footprint_time BETWEEN {lo:DateTime64(6,'UTC')} AND {hi:DateTime64(6,'UTC')} AND event_id IN (SELECT toUUID(arrayJoin(splitByChar(',', {s:String}))))", query_params: { lo, hi, s: ids.join(",") }, format: "TabSeparated", use_multipart_params: true })),
  range_param: () => txt(client.query({ query: "SELECT toString(event_id) FROM t WHERE footprint_time BETWEEN {lo:DateTime64(6,'UTC')} AND {hi:DateTime64(6,'UTC')} AND event_id IN {ids:Array(UUID)}", query_params: { lo, hi, ids }, format: "TabSeparated", use_multipart_params: true })),
  range_only: () => txt(client.query({ query: "SELECT toString(event_id) FROM t WHERE footprint_time BETWEEN {lo:DateTime64(6,'UTC')} AND {hi:DateTime64(6,'UTC')}", query_params: { lo, hi }, format: "TabSeparated" })),
};
const samples: Record<string, number[]> = {};
for (let i = 0; i < 15; i++) for (const [k, f] of Object.entries(variants)) { const s = performance.now(); const c = await f(); (samples[k] ??= []).push(performance.now() - s); if (i === 0) console.log(k, "rows", c); }
for (const [k, v] of Object.entries(samples)) { v.sort((a, b) => a - b); console.log(k, "median ms", v[Math.floor(v.length / 2)]!.toFixed(1), "min", v[0]!.toFixed(1)); }
