import type { Admin } from "kafkajs";
import type { Metrics } from "../src/metrics.ts";

export type LagOptions = {
  admin: Pick<Admin, "fetchTopicOffsets" | "fetchOffsets">;
  topic: string;
  groupId: string;
  sink: string;
  metrics: Metrics;
};

/** Sets the sink's lag gauge per partition: messages in the topic its group has not committed. */
export async function measureLag({ admin, topic, groupId, sink, metrics }: LagOptions): Promise<void> {
  try {
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    for (const end of ends) {
      const c = committed?.partitions.find((p) => p.partition === end.partition);
      const position = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low);
      metrics.consumerLag.set({ sink, partition: String(end.partition) }, Math.max(0, Number(end.high) - position));
    }
  } catch {
    // Kafka away: the last value stays; the sink's own errors say more.
  }
}
