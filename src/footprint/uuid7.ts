/**
 * UUIDv7 (RFC 9562) from web-standard APIs only, so ids are made the same way on Bun, Deno,
 * Node and Workers: 48-bit Unix milliseconds, version 7, a 12-bit counter (rand_a, RFC 9562
 * method 1) that keeps ids made within one millisecond in order, variant 10 and 62 random bits.
 */
export type UuidV7Options = {
  /** Unix milliseconds. */
  now?: () => number;
  /** Fills the array with random bytes; `crypto.getRandomValues` by default. */
  fillRandom?: (bytes: Uint8Array) => void;
};

const DIGITS = "0123456789abcdef";
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Ids per refill: one `getRandomValues` call for many ids keeps the per-id cost a few array reads. */
const POOL_IDS = 256;
/** 8 bytes for rand_b, 2 to seed the counter at each new millisecond. */
const BYTES_PER_ID = 10;

/**
 * A generator of UUIDv7 strings that sort as they were made: by time, and within one millisecond
 * by a counter seeded at random (leaving at least 2048 more ids before it overflows, when the
 * timestamp is moved one millisecond on). A clock going backwards never makes an id sort earlier.
 *
 * @example
 * const newId = createUuidV7();
 * newId(); // "0192f0c1-6a2b-7c3d-9e4f-0123456789ab"
 */
export function createUuidV7(options: UuidV7Options = {}): () => string {
  const now = options.now ?? Date.now;
  const fillRandom = options.fillRandom ?? ((bytes: Uint8Array) => crypto.getRandomValues(bytes));
  const pool = new Uint8Array(POOL_IDS * BYTES_PER_ID);
  let at = pool.length;
  let lastMs = -1;
  let counter = 0;
  /** The timestamp's part of the id, kept while the millisecond lasts. */
  let prefix = "";
  let prefixMs = -1;
  return () => {
    if (at === pool.length) {
      fillRandom(pool);
      at = 0;
    }
    const r = at;
    at += BYTES_PER_ID;
    let ms = now();
    if (ms > lastMs) {
      // The top bit stays clear: at least 2048 ids in this millisecond before the counter overflows.
      counter = ((pool[r + 8] as number) << 4) | ((pool[r + 9] as number) >> 4);
      counter &= 0x7ff;
      lastMs = ms;
    } else {
      ms = lastMs;
      counter++;
      if (counter > 0xfff) {
        counter = 0;
        ms = ++lastMs;
      }
    }
    if (ms !== prefixMs) {
      const time = ms.toString(16).padStart(12, "0");
      prefix = `${time.slice(0, 8)}-${time.slice(8)}-7`;
      prefixMs = ms;
    }
    return (
      `${prefix}${DIGITS[counter >> 8]}${HEX[counter & 0xff]}-` +
      `${HEX[0x80 | ((pool[r] as number) & 0x3f)]}${HEX[pool[r + 1] as number]}-` +
      `${HEX[pool[r + 2] as number]}${HEX[pool[r + 3] as number]}${HEX[pool[r + 4] as number]}` +
      `${HEX[pool[r + 5] as number]}${HEX[pool[r + 6] as number]}${HEX[pool[r + 7] as number]}`
    );
  };
}

/** The library's default id generator. */
export const uuidv7: () => string = createUuidV7();
