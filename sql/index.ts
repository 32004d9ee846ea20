// The SQL files are imported as text so `bun build --compile` embeds them in the binary.
import chUserFootprint from "./clickhouse/0001_user_footprint.sql" with { type: "text" };
import chRichEventFields from "./clickhouse/0002_rich_event_fields.sql" with { type: "text" };
import chMinuteRollup from "./clickhouse/0003_minute_rollup.sql" with { type: "text" };
import chInsertDeduplication from "./clickhouse/0005_insert_deduplication.sql" with { type: "text" };
import chHourDayRollups from "./clickhouse/0007_hour_day_rollups.sql" with { type: "text" };
import chQuestionRollups from "./clickhouse/0008_question_rollups.sql" with { type: "text" };
import chEndpointWeekRollup from "./clickhouse/0010_endpoint_week_rollup.sql" with { type: "text" };
import pgUserFootprint from "./postgres/0001_user_footprint.sql" with { type: "text" };
import pgRichEventFields from "./postgres/0002_rich_event_fields.sql" with { type: "text" };
import pgMinuteRollup from "./postgres/0003_minute_rollup.sql" with { type: "text" };
import pgHourDayRollups from "./postgres/0007_hour_day_rollups.sql" with { type: "text" };
import pgQuestionRollups from "./postgres/0008_question_rollups.sql" with { type: "text" };
import pgDashboardSessions from "./postgres/0009_dashboard_sessions.sql" with { type: "text" };
import pgEndpointWeekRollup from "./postgres/0010_endpoint_week_rollup.sql" with { type: "text" };

export type Migration = { version: string; name: string; sql: string };

/** In the order they must be applied; never edit or renumber one that has shipped. */
export const postgresMigrations: readonly Migration[] = [
  { version: "0001", name: "user_footprint", sql: pgUserFootprint },
  { version: "0002", name: "rich_event_fields", sql: pgRichEventFields },
  { version: "0003", name: "minute_rollup", sql: pgMinuteRollup },
  { version: "0007", name: "hour_day_rollups", sql: pgHourDayRollups },
  { version: "0008", name: "question_rollups", sql: pgQuestionRollups },
  { version: "0009", name: "dashboard_sessions", sql: pgDashboardSessions },
  { version: "0010", name: "endpoint_week_rollup", sql: pgEndpointWeekRollup },
];

export const clickhouseMigrations: readonly Migration[] = [
  { version: "0001", name: "user_footprint", sql: chUserFootprint },
  { version: "0002", name: "rich_event_fields", sql: chRichEventFields },
  { version: "0003", name: "minute_rollup", sql: chMinuteRollup },
  { version: "0005", name: "insert_deduplication", sql: chInsertDeduplication },
  { version: "0007", name: "hour_day_rollups", sql: chHourDayRollups },
  { version: "0008", name: "question_rollups", sql: chQuestionRollups },
  { version: "0010", name: "endpoint_week_rollup", sql: chEndpointWeekRollup },
];
