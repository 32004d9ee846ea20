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
 * with one write(2) (appendAll is written at once); the file is fsync'ed at most once per `fsyncMs` (1 s), when a segment is
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
  /**
   * Writes all of `lines` at once (write(2), no fsync), after what is queued; false, and nothing
   * written, when they would not all fit or the spool is unusable.
   */
  appendAll(lines: readonly string[]): boolean;
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
  /** fsync(2) of a segment's descriptor (a test counts the calls). */
  fsync?: (fd: number) => void;
};

/**
 * A segment file and its size. The writer and the reader share one list of them, oldest first:
 * the writer adds and grows the newest, the reader removes the oldest once sent.
 */
export type Segment = { n: number; size: number };

const SEGMENT = /^segment-(\d{12})\.ndjson$/;
const segmentName = (n: number) => `segment-${String(n).padStart(12, "0")}.ndjson`;
const segmentPath = (dir: string, n: number) => join(dir, segmentName(n));
const cursorPath = (dir: string) => join(dir, "cursor");
const lockPath = (dir: string) => join(dir, "lock");
const READ_CHUNK = 1024 * 1024;

const diskBytes = (segments: Segment[]) => segments.reduce((n, s) => n + s.size, 0);

export function createSpool(options: SpoolOptions): Spool {
  const { dir, maxBytes, logger } = options;
  const segmentBytes = options.segmentBytes ?? Math.max(64 * 1024, Math.min(16 * 1024 * 1024, maxBytes / 8));
  const lock = createSpoolLock(dir, logger);
  const { segments, readAt, lastNumber } = recoverSegments(dir);
  if (segments.length > 0) {
    lock.take();
    logger.info("disk spool holds footprints from an earlier run; they are sent first", {
      dir,
      bytes: diskBytes(segments) - readAt,
    });
  }
  const writer = createSegmentWriter({
    dir,
    segments,
    lastNumber,
    segmentBytes,
    writeMs: options.writeMs ?? 100,
    fsyncMs: options.fsyncMs ?? 1000,
    fsync: options.fsync ?? fsyncSync,
    logger,
  });
  const reader = createSegmentReader({ dir, segments, readAt, writer });
  const isEmpty = () => !writer.hasPending && diskBytes(segments) - reader.readAt <= 0;

  return {
    get bytes() {
      return diskBytes(segments) + writer.pendingBytes;
    },
    get isEmpty() {
      return isEmpty();
    },
    append(line) {
      const size = Buffer.byteLength(line) + 1;
      lock.take();
      if (!lock.usable || diskBytes(segments) + writer.pendingBytes + size > maxBytes) return false;
      writer.append(line, size);
      return true;
    },
    appendAll(lines) {
      const sizes = lines.map((line) => Buffer.byteLength(line) + 1);
      lock.take();
      const total = sizes.reduce((n, size) => n + size, 0);
      if (!lock.usable || diskBytes(segments) + writer.pendingBytes + total > maxBytes) return false;
      lines.forEach((line, i) => {
        writer.append(line, sizes[i] as number);
      });
      writer.flush();
      return true;
    },
    read: (max) => reader.read(max),
    takeCorrupt: () => reader.takeCorrupt(),
    close() {
      writer.close();
      if (lock.held && isEmpty()) removeSpoolFiles(dir, segments);
      lock.release();
    },
  };
}

/**
 * The segments an earlier run left in `dir`, oldest first, and how far the oldest was sent
 * (its cursor, capped at its size; 0 without a cursor for it).
 */
export function recoverSegments(dir: string): { segments: Segment[]; readAt: number; lastNumber: number } {
  const segments: Segment[] = [];
  if (!existsSync(dir)) return { segments, readAt: 0, lastNumber: 0 };
  for (const name of readdirSync(dir)) {
    const m = SEGMENT.exec(name);
    if (m) segments.push({ n: Number(m[1]), size: statSync(join(dir, name)).size });
  }
  segments.sort((a, b) => a.n - b.n);
  let readAt = 0;
  let cursorSegment = 0;
  try {
    const c = JSON.parse(readFileSync(cursorPath(dir), "utf8")) as { segment: number; offset: number };
    cursorSegment = Number.isSafeInteger(c.segment) ? c.segment : 0;
    if (segments.length > 0 && c.segment === segments[0]?.n) readAt = Math.min(c.offset, segments[0].size);
  } catch {
    // No cursor: the oldest segment is read from its start.
  }
  // New segments are numbered past any the cursor names: a cursor left behind when the last
  // segment was deleted (or by a crash in between) must never match a new segment and skip its lines.
  return { segments, readAt, lastNumber: Math.max(segments.at(-1)?.n ?? 0, cursorSegment) };
}

/**
 * Takes `dir/lock` for this process (creating `dir`): a lock file whose process is gone, or is
 * us, is taken over. Throws when another live process holds it, as two writers would interleave.
 */
export function acquireSpoolLock(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const lockFile = lockPath(dir);
  try {
    writeFileSync(lockFile, String(process.pid), { flag: "wx" });
    return;
  } catch {
    // Held already: by a live process or left behind by a dead one.
  }
  const holder = Number(readFileSync(lockFile, "utf8"));
  if (holder && holder !== process.pid && isAlive(holder)) {
    throw new Error(`SPOOL_DIR ${dir} is in use by process ${holder}`);
  }
  writeFileSync(lockFile, String(process.pid));
}

type SpoolLock = {
  /** Takes the lock unless held already or found unusable before; a failure is logged once. */
  take(): void;
  readonly held: boolean;
  /** False once taking the lock failed: the spool refuses every line from then on. */
  readonly usable: boolean;
  release(): void;
};

/** The lock is taken lazily, on the first append or when an earlier run left segments behind. */
function createSpoolLock(dir: string, logger: Logger): SpoolLock {
  let held = false;
  let usable = true;
  return {
    take() {
      if (held || !usable) return;
      try {
        acquireSpoolLock(dir);
        held = true;
      } catch (err) {
        usable = false;
        logger.error("disk spool unusable: footprints beyond the memory queue will be dropped", { dir, err });
      }
    },
    get held() {
      return held;
    },
    get usable() {
      return usable;
    },
    release() {
      if (held) unlinkSync(lockPath(dir));
      held = false;
    },
  };
}

type SegmentWriter = {
  readonly pendingBytes: number;
  readonly hasPending: boolean;
  /** True while segment `n` is the one appended to (more lines may still come into it). */
  isOpen(n: number): boolean;
  /** Queues one line of `size` bytes (newline included); written at once when enough is waiting. */
  append(line: string, size: number): void;
  /** Writes what waits in memory, with one write(2). */
  flush(): void;
  /** Closes segment `n`, unsynced, if it is the open one: it is about to be deleted. */
  discard(n: number): void;
  /** Stops the write timer, writes what waits, fsyncs and closes the open segment. */
  close(): void;
};

type OpenSegment = { n: number; fd: number; size: number };

/** Appends to the newest segment, rotating at `segmentBytes`, with the fsync policy stated above. */
function createSegmentWriter(o: {
  dir: string;
  segments: Segment[];
  /** Highest segment number used or named by the cursor; the next segment gets the one after. */
  lastNumber: number;
  segmentBytes: number;
  writeMs: number;
  fsyncMs: number;
  fsync: (fd: number) => void;
  logger: Logger;
}): SegmentWriter {
  let open: OpenSegment | undefined;
  let pending: string[] = [];
  let pendingBytes = 0;
  let dirty = false;
  let lastFsync = Date.now();
  let lastNumber = o.lastNumber;

  function flush() {
    if (pending.length === 0) return;
    const data = pending.join("");
    pending = [];
    pendingBytes = 0;
    try {
      open ??= openSegment(o.dir, o.segments, ++lastNumber);
      open.size += writeSync(open.fd, data);
      const seg = o.segments.find((s) => s.n === open?.n);
      if (seg) seg.size = open.size;
      dirty = true;
      if (Date.now() - lastFsync >= o.fsyncMs) sync();
      if (open.size >= o.segmentBytes) closeOpen();
    } catch (err) {
      o.logger.error("disk spool write failed", { dir: o.dir, err });
    }
  }

  function sync() {
    if (open && dirty) o.fsync(open.fd);
    dirty = false;
    lastFsync = Date.now();
  }

  function closeOpen() {
    if (!open) return;
    sync();
    closeSync(open.fd);
    open = undefined;
  }

  const timer = setInterval(flush, o.writeMs);
  timer.unref?.();

  return {
    get pendingBytes() {
      return pendingBytes;
    },
    get hasPending() {
      return pending.length > 0;
    },
    isOpen: (n) => open?.n === n,
    append(line, size) {
      pending.push(`${line}\n`);
      pendingBytes += size;
      if (pendingBytes >= Math.min(256 * 1024, o.segmentBytes / 4)) flush();
    },
    flush,
    discard(n) {
      if (open?.n !== n) return;
      closeSync(open.fd);
      open = undefined;
    },
    close() {
      clearInterval(timer);
      flush();
      closeOpen();
    },
  };
}

/** Creates the segment after the newest one and adds it to `segments`. */
function openSegment(dir: string, segments: Segment[], n: number): OpenSegment {
  const fd = openSync(segmentPath(dir, n), "a");
  segments.push({ n, size: 0 });
  return { n, fd, size: 0 };
}

type SegmentReader = {
  /** Byte offset in the oldest segment up to which Kafka has acknowledged. */
  readonly readAt: number;
  read(max: number): SpoolRead | undefined;
  takeCorrupt(): number;
};

/** Reads lines from the oldest segment; ack() moves the cursor, and a fully sent segment goes. */
function createSegmentReader(o: {
  dir: string;
  segments: Segment[];
  readAt: number;
  writer: SegmentWriter;
}): SegmentReader {
  const { dir, segments, writer } = o;
  let readAt = o.readAt;
  let corrupt = 0;

  const saveCursor = () => {
    const first = segments[0];
    if (first) writeCursor(dir, first.n, readAt);
  };

  function dropFirstSegment() {
    const first = segments.shift();
    if (!first) return;
    writer.discard(first.n);
    unlinkSync(segmentPath(dir, first.n));
    readAt = 0;
  }

  /** The oldest segment with unsent bytes, or undefined when nothing waits on disk or in memory. */
  function nextSegment(): Segment | undefined {
    for (;;) {
      const first = segments[0];
      if (first && readAt >= first.size && (!writer.isOpen(first.n) || !writer.hasPending)) {
        // Fully sent: a closed segment goes; the open one only once nothing more is coming.
        dropFirstSegment();
        saveCursor();
        continue;
      }
      if (!first || readAt >= first.size) {
        // Caught up with the disk: what waits in memory is written now and read next.
        if (!writer.hasPending) return undefined;
        writer.flush();
        continue;
      }
      return first;
    }
  }

  return {
    get readAt() {
      return readAt;
    },
    read(max) {
      const seg = nextSegment();
      if (!seg) return undefined;
      const chunk = readChunk(segmentPath(dir, seg.n), readAt, seg.size - readAt);
      let { lines, used } = readLines(chunk, max);
      if (used === 0 && !writer.isOpen(seg.n)) {
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
  };
}

/** Replaces the cursor in one rename, so a crash leaves the old one or the new one, never half. */
function writeCursor(dir: string, segment: number, offset: number): void {
  const tmp = `${cursorPath(dir)}.tmp`;
  writeFileSync(tmp, JSON.stringify({ segment, offset }));
  renameSync(tmp, cursorPath(dir));
}

/** Up to READ_CHUNK bytes of `file` from `offset`, no more than the `unread` bytes it holds. */
function readChunk(file: string, offset: number, unread: number): Buffer {
  const fd = openSync(file, "r");
  try {
    const chunk = Buffer.alloc(Math.min(READ_CHUNK, unread));
    readSync(fd, chunk, 0, chunk.length, offset);
    return chunk;
  } finally {
    closeSync(fd);
  }
}

/**
 * Up to `max` complete (newline-ended) lines from the start of `chunk`, empty lines skipped, and
 * the bytes they used; a line without its newline is left for a later read.
 */
export function readLines(chunk: Buffer, max: number): { lines: string[]; used: number } {
  const lines: string[] = [];
  let used = 0;
  while (lines.length < max) {
    const nl = chunk.indexOf(0x0a, used);
    if (nl < 0) break;
    const line = chunk.subarray(used, nl).toString("utf8");
    used = nl + 1;
    if (line.length > 0) lines.push(line);
  }
  return { lines, used };
}

/** Deletes every segment and the cursor: on close of an empty spool, nothing is left behind. */
function removeSpoolFiles(dir: string, segments: Segment[]): void {
  for (const s of segments.splice(0)) unlinkSync(segmentPath(dir, s.n));
  if (existsSync(cursorPath(dir))) unlinkSync(cursorPath(dir));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}
