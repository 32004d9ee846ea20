/** Bun, Node and Deno: `<runtime> runtime-cost-main.js <rounds> <perRound>` prints measureCost's result as JSON. */
import { measureCost } from "./runtime-cost.ts";

const args = (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const result = await measureCost(Number(args[0] ?? 10), Number(args[1] ?? 5000));
console.log(JSON.stringify(result));
