import type { CapturedRequest } from "./capture.ts";

/**
 * Captured requests cross to the worker as one batch of two parts: their numbers in a
 * Float64Array (transferred, not copied) and their text fields in one string. Posting a string
 * copies its bytes, while structured clone of objects or arrays costs microseconds per record
 * (measured: ~5 µs per record as objects, ~0.06 µs as one string). Each text field is written as
 * `<length>:<text>`, or `-` when absent, so any character may appear in a value.
 */
export type CapturedBatch = {
  records: number;
  /** status, started, ended, bytesOut (-1: unknown) of each record in turn. */
  numbers: Float64Array;
  text: string;
};

const NUMBERS = 4;

export type BatchWriter = {
  add(r: CapturedRequest): void;
  readonly size: number;
  /** The batch so far (undefined when empty); the writer starts a new one. */
  take(): CapturedBatch | undefined;
};

/**
 * Numbers go straight into a Float64Array sized for `expected` records (grown by doubling past
 * it), which is then posted as it is: no array of numbers copied into a typed one per batch.
 */
export function createBatchWriter(expected = 256): BatchWriter {
  let numbers = new Float64Array(expected * NUMBERS);
  let texts: string[] = [];
  let n = 0;
  return {
    add(r) {
      if (n + NUMBERS > numbers.length) {
        const grown = new Float64Array(numbers.length * 2);
        grown.set(numbers);
        numbers = grown;
      }
      numbers[n] = r.status;
      numbers[n + 1] = r.started;
      numbers[n + 2] = r.ended;
      numbers[n + 3] = r.bytesOut ?? -1;
      n += NUMBERS;
      texts.push(
        `${r.method.length}:${r.method}${r.path.length}:${r.path}${text(r.route)}${text(r.host)}${text(r.userAgent)}${text(r.referrer)}${text(r.ip)}${text(r.query)}`,
      );
    },
    get size() {
      return texts.length;
    },
    take() {
      if (texts.length === 0) return undefined;
      // The whole buffer is transferred; a short batch's unused tail travels with it unread.
      const batch = {
        records: texts.length,
        numbers: n === numbers.length ? numbers : numbers.subarray(0, n),
        text: texts.join(""),
      };
      numbers = new Float64Array(expected * NUMBERS);
      texts = [];
      n = 0;
      return batch;
    },
  };
}

const text = (v: string | undefined) => (v === undefined ? "-" : `${v.length}:${v}`);

/** Every record of a batch that a `BatchWriter` wrote; throws on anything else. */
export function decodeCaptured(batch: CapturedBatch): CapturedRequest[] {
  const { text: data, numbers } = batch;
  const out: CapturedRequest[] = [];
  let at = 0;
  const field = (): string | undefined => {
    if (data[at] === "-") {
      at++;
      return undefined;
    }
    const colon = data.indexOf(":", at);
    const length = Number(data.slice(at, colon));
    if (colon < 0 || !Number.isSafeInteger(length)) throw new Error(`bad captured batch at ${at}`);
    at = colon + 1 + length;
    return data.slice(colon + 1, at);
  };
  for (let i = 0; i < batch.records; i++) {
    const n = i * NUMBERS;
    const r: CapturedRequest = {
      method: field() ?? "",
      path: field() ?? "",
      status: numbers[n] as number,
      started: numbers[n + 1] as number,
      ended: numbers[n + 2] as number,
      route: field(),
      host: field(),
      userAgent: field(),
      referrer: field(),
      ip: field(),
      query: field(),
    };
    const bytesOut = numbers[n + 3] as number;
    if (bytesOut >= 0) r.bytesOut = bytesOut;
    out.push(r);
  }
  if (at !== data.length) throw new Error(`bad captured batch: ${data.length - at} characters left over`);
  return out;
}
