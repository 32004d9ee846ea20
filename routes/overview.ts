import { Hono } from "hono";
import type { Store } from "../src/store/store.ts";

/**
 * How many footprints each store holds and how long each took to say so. A first look at the
 * pipeline; the statistics API and dashboard build on the same idea.
 */
export function overviewRoutes(stores: readonly Store[], pathPrefix: string): Hono {
  return new Hono()
    .get("/api/v1/overview", async (c) => {
      const results = await Promise.all(
        stores.map(async (store) => {
          const started = performance.now();
          try {
            const total = await store.countFootprints();
            return { store: store.name, total, ms: round(performance.now() - started) };
          } catch (err) {
            return { store: store.name, error: (err as Error).message, ms: round(performance.now() - started) };
          }
        }),
      );
      return c.json({ stores: results });
    })
    .get("/", (c) => c.html(PAGE.replace("__API__", `${pathPrefix}/api/v1/overview`)));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>eft-footprint</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:40rem;padding:0 1rem;color:#222}
.stores{display:flex;gap:1rem;flex-wrap:wrap}.card{flex:1;min-width:14rem;border:1px solid #ddd;border-radius:8px;padding:1rem;text-align:center}
.n{font-size:3rem;font-weight:700}.ms{color:#666}.err{color:#b00}
</style></head><body>
<h1>eft-footprint</h1><p>Footprints stored, refreshed every 2 s.</p>
<div class="stores" id="stores"></div>
<script>
async function refresh(){
  try{
    const r=await fetch('__API__');const {stores}=await r.json();
    document.getElementById('stores').innerHTML=stores.map(s=>'<div class="card"><h2>'+s.store+'</h2>'+
      (s.error?'<div class="err">'+s.error.replace(/</g,'&lt;')+'</div>':'<div class="n">'+s.total.toLocaleString()+'</div>')+
      '<div class="ms">query '+s.ms+' ms</div></div>').join('');
  }catch(e){}
  setTimeout(refresh,2000);
}
refresh();
</script></body></html>`;
