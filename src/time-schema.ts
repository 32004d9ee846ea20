import { z } from "zod";
import { isTimeZone } from "./time.ts";

/**
 * A zone name this runtime knows (IANA, e.g. Asia/Seoul, or UTC), for the FOOTPRINT_TZ setting and
 * the stats API's `tz`. Apart from src/time.ts, which the footprint library loads: zod stays off
 * its capture path (a Worker bundling it grew by ~90 KB).
 */
export const TimeZoneSchema = z.string().refine(isTimeZone, "must be an IANA time zone name such as Asia/Seoul or UTC");
