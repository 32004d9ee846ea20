/**
 * Demo traffic for `scripts/demo`: requests to the demo site at a steady rate with occasional
 * bursts (real traffic showed minute-level spikes), popular routes much more often than rare ones.
 * Usage: bun scripts/demo-traffic.ts <base-url> [requests-per-second]
 */
const [base, rateArg] = Bun.argv.slice(2);
if (!base) {
  console.error("usage: bun scripts/demo-traffic.ts <base-url> [requests-per-second]");
  process.exit(2);
}
const rate = Number(rateArg ?? 20);

const targets: [weight: number, method: string, path: () => string][] = [
  [30, "GET", () => "/api/v1/items"],
  [25, "GET", () => `/api/v1/items/${pick(["bitcoin", "ledx", "gpu", "salewa", "moonshine", "tetriz", "nope"])}`],
  [12, "GET", () => `/api/v1/quests/${1 + Math.floor(Math.random() * 60)}`],
  [8, "GET", () => "/api/v1/quests"],
  [8, "GET", () => `/api/v1/traders/${pick(["prapor", "therapist", "skier", "mechanic"])}`],
  [6, "GET", () => `/api/v1/maps/${pick(["customs", "woods", "interchange", "reserve"])}`],
  [5, "GET", () => `/api/v1/search?q=${pick(["ammo", "keys", "armor"])}`],
  [3, "POST", () => "/api/v1/comments"],
  [2, "POST", () => "/api/v1/auth/login"],
  [1, "GET", () => "/wp-login.php"],
];
const total = targets.reduce((s, [w]) => s + w, 0);

function pick<T>(xs: T[]): T {
  return xs[Math.floor(Math.random() * xs.length)] as T;
}

function next(): [string, string] {
  let r = Math.random() * total;
  for (const [w, method, path] of targets) {
    r -= w;
    if (r <= 0) return [method, path()];
  }
  return ["GET", "/"];
}

let sent = 0;
let failed = 0;
setInterval(() => {
  // One second in twenty is a burst of five times the rate.
  const n = Math.random() < 0.05 ? rate * 5 : rate;
  for (let i = 0; i < n / 10; i++) {
    const [method, path] = next();
    fetch(`${base}${path}`, { method })
      .then((r) => r.arrayBuffer())
      .then(
        () => sent++,
        () => failed++,
      );
  }
}, 100);
setInterval(() => console.log(JSON.stringify({ msg: "demo traffic", sent, failed })), 10_000);
