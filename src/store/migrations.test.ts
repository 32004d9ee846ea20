import { expect, test } from "bun:test";
import { migrationStatus } from "./migrations.ts";

const [A, B, C] = [
  { version: "0001", name: "a", sql: "" },
  { version: "0002", name: "b", sql: "" },
  { version: "0007", name: "c", sql: "" },
] as const;
const SHIPPED = [A, B, C];

test("migrationStatus: pending in shipped order, and versions only a newer binary knows", () => {
  expect(migrationStatus(SHIPPED, [])).toEqual({ pending: SHIPPED, unknown: [] });
  expect(migrationStatus(SHIPPED, ["0001", "0007"])).toEqual({ pending: [B], unknown: [] });
  expect(migrationStatus(SHIPPED, ["0009", "0001", "0002", "0007", "0008"])).toEqual({
    pending: [],
    unknown: ["0008", "0009"],
  });
});
