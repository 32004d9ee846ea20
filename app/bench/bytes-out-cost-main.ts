/** Bun, Node and Deno: `<runtime> bytes-out-cost-main.js <rounds> <perRound>` prints measureBytesOut's result as JSON. */
import { measureBytesOut } from "./bytes-out-cost.ts";

const args = (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
console.log(JSON.stringify(await measureBytesOut(Number(args[0] ?? 10), Number(args[1] ?? 5000))));
