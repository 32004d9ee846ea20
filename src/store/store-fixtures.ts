import { parseTimestamp } from "../time.ts";
import { type FootprintRow, NO_RICH_FIELDS } from "./store.ts";

/** Rows that exercise every column: seed-only fields, rich fields, odd text, microseconds. */
export function sampleRows(): FootprintRow[] {
  return [
    {
      ...NO_RICH_FIELDS,
      eventId: "0190b2f8-0000-7000-8000-000000000001",
      method: "GET",
      link: "/api/v1/items",
      footprintTime: parseTimestamp("2025-05-19T13:45:30.123456+09:00") as number,
    },
    {
      eventId: "0190b2f8-0000-7000-8000-000000000002",
      method: "POST",
      link: "/api/v1/items/123",
      route: "/api/v1/items/:id",
      status: 201,
      durationMs: 12.75,
      footprintTime: parseTimestamp("2025-05-18T15:00:00.000001Z") as number, // 00:00:00.000001 KST
      query: "ref=home&lang=ko",
      host: "eft.example.com",
      userAgent: "Mozilla/5.0 (X11; Linux x86_64)",
      referrer: "https://www.google.com/",
      ipHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      isBot: false,
      bytesOut: 5_000_000_000,
    },
    {
      ...NO_RICH_FIELDS,
      eventId: "0190b2f8-0000-7000-8000-000000000003",
      method: "DELETE",
      link: '/q?x=\'; DROP TABLE user_footprint; --\\\n\t"한국어"',
      route: "/q",
      status: 500,
      durationMs: 0.001,
      footprintTime: parseTimestamp("2024-12-31T23:59:59.999999-05:00") as number,
      userAgent: "Googlebot/2.1 (+http://www.google.com/bot.html)",
      isBot: true,
      bytesOut: 0,
    },
  ];
}
