import { clickhouse } from "./clickhouse.ts";
import { kafka } from "./kafka.ts";
import type { StackOptions } from "./options.ts";
import { postgresService } from "./postgres.ts";
import type { Service } from "./service.ts";
import type { StackState } from "./state.ts";

export const SERVICES: readonly Service[] = [kafka, postgresService, clickhouse];

/** What clients should use: the user's own instance when their environment names one. */
export function serviceAddress(service: Service, options: StackOptions, state: StackState): string | undefined {
  return service.externalAddress(options) ?? service.ownAddress(state);
}
