/**
 * Segments that identify one record rather than a kind of page, and the placeholder each becomes.
 * Checked in order; the first match wins. Words (slugs, names, versions like `v2`) never match,
 * because grouping `/items/ledx` with `/items/gpu` would lose what the statistics are for.
 */
const PLACEHOLDERS: readonly (readonly [RegExp, string])[] = [
  [/^\d+$/, ":id"],
  [/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, ":uuid"],
  // ULID: 26 characters of Crockford base32, starting with a time digit 0-7.
  [/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i, ":id"],
  [/^\d{4}-\d{2}-\d{2}$/, ":date"],
  // Hex digests and object ids (git SHAs, MongoDB ids, MD5/SHA hashes): hex with digits and letters,
  // or long runs of hex, so that hex-looking words ("cafe", "facade", "deadbeef") are kept.
  [/^(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}$|^[0-9a-f]{16,}$/i, ":hash"],
  // Opaque tokens (base64url session ids, short links): long, mixed letters and digits.
  [/^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{20,}$/, ":token"],
];

/**
 * A route pattern for a path no router matched (a proxied site): segments that look like ids,
 * UUIDs, dates, hashes or tokens become placeholders, so `/items/123` and `/items/456` group
 * together as `/items/:id`.
 *
 * @example
 * inferRoutePattern("/users/42/orders/0190b2f8-3c4d-7e5f-8a9b-0c1d2e3f4a5b") // "/users/:id/orders/:uuid"
 */
export function inferRoutePattern(path: string): string {
  // A proxied site's traffic repeats a limited set of paths: each is worked out once (bounded).
  let pattern = known.get(path);
  if (pattern === undefined) {
    pattern = patternOf(path);
    if (known.size >= 10_000) known.clear();
    known.set(path, pattern);
  }
  return pattern;
}

const known = new Map<string, string>();

function patternOf(path: string): string {
  return path
    .split("/")
    .map((segment) => {
      if (segment === "") return segment;
      for (const [pattern, placeholder] of PLACEHOLDERS) {
        if (pattern.test(segment)) return placeholder;
      }
      return segment;
    })
    .join("/");
}
