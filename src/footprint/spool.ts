import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Logger } from "../log.ts";

/**
 * An append-only, size-capped disk spool for footprints that Kafka could not take in time. One
 * JSON message per line, in segment files `segment-<n>.ndjson` read oldest first; `cursor` says how
 * far the oldest segment has been sent. A segment is deleted once sent.
 *
 * Durability (fsync policy): appends are collected for at most `writeMs` (100 ms) and written
 * with one write(2); the file is fsync'ed at most once per `fsyncMs` (1 s), when a segment is
 * closed, and on close(). A crash of the process loses nothing written; a crash of the machine
 * loses at most the last second. A line cut short by a crash is skipped when read (counted).
 * The cursor is written (not fsync'ed) right after Kafka acknowledged a read: only a crash in
 * between sends that batch again. PostgreSQL drops such a repeat by event_id; ClickHouse, whose
 * deduplication covers Kafka redelivery (same offsets), not a second copy in Kafka, would count it
 * twice — a window of microseconds per batch, left open rather than risk losing a batch.
 */
export type Spool = {
  /** Bytes on disk and waiting to be written. */
  readonly bytes: number;
  /** True when nothing is waiting in the spool. */
  readonly isEmpty: boolean;
  /** Queues one line (no newline inside); false when it would exceed the cap or the spool is unusable. */
  append(line: string): boolean;
  /** Up to `max` lines from the oldest; call ack() once they are safely elsewhere. */
  read(max: number): SpoolRead | undefined;
  /** Lines skipped as unreadable since the last call (a torn last line after a crash). */
  takeCorrupt(): number;
  close(): void;
};

export type SpoolRead = { lines: string[]; ack(): void };

export type SpoolOptions = {
  dir: string;
  maxBytes: number;
  logger: Logger;
  segmentBytes?: number;
  writeMs?: number;
  fsyncMs?: number;
};

const SEGMENT = /^segment-(\d{12})\.ndjson$/;
const segmentName = (n: number) => `segment-${String(n).padStart(12, "0")}.ndjson`;
const READ_CHUNK = 1024 * 1024;

export function createSpool(options: SpoolOptions): Spool {
  const { dir, maxBytes, logger } = options;
  const segmentBytes = options.segmentBytes ?? Math.max(64 * 1024, Math.min(16 * 1024 * 1024, maxBytes / 8));
  const cursorFile = join(dir, "cursor");
  const lockFile = join(dir, "lock");

  // Segments on disk, oldest first, with their sizes.
  const segments: { n: number; size: number }[] = [];
  let readAt = 0; // byte offset in segments[0]
  let writer: { n: number; fd: number; size: number } | undefined;
  let pending: string[] = [];
  let pendingBytes = 0;
  let dirty = false;
  let lastFsync = Date.now();
  let locked = false;
  let unusable = false;
  let corrupt = 0;

  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      const m = SEGMENT.exec(name);
      if (m) segments.push({ n: Number(m[1]), size: statSync(join(dir, name)).size });
    }
    segments.sort((a, b) => a.n - b.n);
    if (segments.length > 0) {
      lock();
      try {
        const c = JSON.parse(readFileSync(cursorFile, "utf8")) as { segment: number; offset: number };
        if (c.segment === segments[0]?.n) readAt = Math.min(c.offset, segments[0].size);
      } catch {
        // No cursor: the oldest segment is read from its start.
      }
      logger.info("disk spool holds footprints from an earlier run; they are sent first", {
        dir,
        bytes: segments.reduce((n, s) => n + s.size, 0) - readAt,
      });
    }
  }

  function lock() {
    if (locked || unusable) return;
    try {
      mkdirSync(dir, { recursive: true });
      try {
        writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      } catch {
        const holder = Number(readFileSync(lockFile, "utf8"));
        if (holder && holder !== process.pid && isAlive(holder)) {
          throw new Error(`SPOOL_DIR ${dir} is in use by process ${holder}`);
        }
        writeFileSync(lockFile, String(process.pid));
      }
      locked = true;
    } catch (err) {
      unusable = true;
      logger.error("disk spool unusable: footprints beyond the memory queue will be dropped", { dir, err });
    }
  }

  const diskBytes = () => segments.reduce((n, s) => n + s.size, 0);

  function flushPending() {
    if (pending.length === 0) return;
    const data = pending.join("");
    pending = [];
    pendingBytes = 0;
    try {
      if (!writer) {
        const n = (segments.at(-1)?.n ?? 0) + 1;
        writer = { n, fd: openSync(join(dir, segmentName(n)), "a"), size: 0 };
        segments.push({ n, size: 0 });
      }
      const bytes = writeSync(writer.fd, data);
      writer.size += bytes;
      const seg = segments.find((s) => s.n === writer?.n);
      if (seg) seg.size = writer.size;
      dirty = true;
      if (Date.now() - lastFsync >= (options.fsyncMs ?? 1000)) sync();
      if (writer.size >= segmentBytes) closeWriter();
    } catch (err) {
      logger.error("disk spool write failed", { dir, err });
    }
  }

  function sync() {
    if (writer && dirty) fsyncSync(writer.fd);
    dirty = false;
    lastFsync = Date.now();
  }

  function closeWriter() {
    if (!writer) return;
    sync();
    closeSync(writer.fd);
    writer = undefined;
  }

  const timer = setInterval(flushPending, options.writeMs ?? 100);
  timer.unref?.();

  function saveCursor() {
    const first = segments[0];
    if (!first) return;
    const tmp = `${cursorFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ segment: first.n, offset: readAt }));
    renameSync(tmp, cursorFile);
  }

  function dropFirstSegment() {
    const first = segments.shift();
    if (!first) return;
    if (writer?.n === first.n) {
      closeSync(writer.fd);
      writer = undefined;
    }
    unlinkSync(join(dir, segmentName(first.n)));
    readAt = 0;
  }

  return {
    get bytes() {
      return diskBytes() + pendingBytes;
    },
    get isEmpty() {
      return pending.length === 0 && diskBytes() - readAt <= 0;
    },
    append(line) {
      const size = Buffer.byteLength(line) + 1;
      lock();
      if (unusable || diskBytes() + pendingBytes + size > maxBytes) return false;
      pending.push(`${line}\n`);
      pendingBytes += size;
      if (pendingBytes >= Math.min(256 * 1024, segmentBytes / 4)) flushPending();
      return true;
    },
    read(max) {
      for (;;) {
        const first = segments[0];
        if (first && readAt >= first.size && (writer?.n !== first.n || pending.length === 0)) {
          // Fully sent: a closed segment goes; the open one only once nothing more is coming.
          dropFirstSegment();
          saveCursor();
          continue;
        }
        if (!first || readAt >= first.size) {
          // Caught up with the disk: what waits in memory is written now and read next.
          if (pending.length === 0) return undefined;
          flushPending();
          continue;
        }
        break;
      }
      const seg = segments[0] as { n: number; size: number };
      const fd = openSync(join(dir, segmentName(seg.n)), "r");
      let chunk: Buffer;
      try {
        chunk = Buffer.alloc(Math.min(READ_CHUNK, seg.size - readAt));
        readSync(fd, chunk, 0, chunk.length, readAt);
      } finally {
        closeSync(fd);
      }
      const lines: string[] = [];
      let used = 0;
      while (lines.length < max) {
        const nl = chunk.indexOf(0x0a, used);
        if (nl < 0) break;
        const line = chunk.subarray(used, nl).toString("utf8");
        used = nl + 1;
        if (line.length > 0) lines.push(line);
      }
      const closed = writer?.n !== seg.n;
      if (used === 0 && closed) {
        // A closed segment ending without a newline: the last line was cut short by a crash.
        corrupt++;
        used = chunk.length;
      }
      const end = readAt + used;
      return {
        lines,
        ack() {
          if (segments[0]?.n !== seg.n) return;
          readAt = end;
          saveCursor();
        },
      };
    },
    takeCorrupt() {
      const n = corrupt;
      corrupt = 0;
      return n;
    },
    close() {
      clearInterval(timer);
      flushPending();
      closeWriter();
      if (locked && this.isEmpty) {
        for (const s of segments.splice(0)) unlinkSync(join(dir, segmentName(s.n)));
        if (existsSync(cursorFile)) unlinkSync(cursorFile);
      }
      if (locked) unlinkSync(lockFile);
      locked = false;
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}
