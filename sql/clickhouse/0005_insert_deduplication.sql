-- Exactly-once counts in ClickHouse (issue 6). Kafka delivers at least once: after a crash the
-- consumer writes the batch it had not committed again. Every consumer insert carries an
-- insert_deduplication_token derived from the exact Kafka messages it holds (topic, partition,
-- first and last offset; batches are cut at the same offsets again after a crash, see
-- consumer/partition-batches.ts), and ClickHouse drops a block whose token it has already seen.
-- That happens at insert time, so counts are exact at once, not only after merges (which a
-- ReplacingMergeTree would need, with FINAL in every query and double counts in every view).
--
-- A plain (non-replicated) MergeTree remembers tokens only with a deduplication window.
-- 10,000 blocks: a redelivered batch is at most a few batches old.
ALTER TABLE user_footprint MODIFY SETTING non_replicated_deduplication_window = 10000;

-- Materialized views are fed with every insert, even one the source table dropped as a duplicate
-- (measured on ClickHouse 26.7). With deduplicate_blocks_in_dependent_materialized_views = 1 (set
-- on every consumer insert) a view's block carries a token derived from the insert's, and a view
-- target with a window of its own drops the repeat too. Any new view over user_footprint needs
-- the same setting on its target table, or a redelivered batch is counted twice there.
ALTER TABLE user_footprint_minute MODIFY SETTING non_replicated_deduplication_window = 10000;
