import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenNotifySocket as listen } from "../test/support/notify-socket.ts";
import { createMemoryLogger } from "./log.ts";
import { createSystemdNotifier, unixAddress } from "./systemd.ts";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

describe("createSystemdNotifier", () => {
  test("sends READY=1, STATUS= and STOPPING=1 as datagrams to NOTIFY_SOCKET", () => {
    const dir = mkdtempSync(join(tmpdir(), "eft-notify-"));
    const socket = listen(join(dir, "notify"));
    cleanup.push(
      () => socket.close(),
      () => rmSync(dir, { recursive: true, force: true }),
    );

    const notifier = createSystemdNotifier(join(dir, "notify"), createMemoryLogger());
    notifier.ready("listening on 127.0.0.1:8080");
    notifier.status("consuming web-logs-topic");
    notifier.stopping();

    expect(socket.messages()).toEqual([
      "READY=1\nSTATUS=listening on 127.0.0.1:8080",
      "STATUS=consuming web-logs-topic",
      "STOPPING=1\nSTATUS=stopping",
    ]);
  });

  test("abstract socket names (@name) work as systemd writes them", () => {
    const name = `@eft-notify-test-${process.pid}-${Date.now()}`;
    const socket = listen(name);
    cleanup.push(() => socket.close());
    createSystemdNotifier(name, createMemoryLogger()).ready();
    expect(socket.messages()).toEqual(["READY=1"]);
  });

  test("without NOTIFY_SOCKET nothing is sent; a dead socket is logged once and never throws", () => {
    createSystemdNotifier(undefined, createMemoryLogger()).ready();
    const logger = createMemoryLogger();
    const notifier = createSystemdNotifier(join(tmpdir(), `eft-no-such-socket-${process.pid}`), logger);
    expect(() => {
      notifier.ready();
      notifier.stopping();
    }).not.toThrow();
    expect(logger.lines.map((l) => l.msg)).toEqual(["cannot notify systemd"]);
  });

  test("unixAddress builds sockaddr_un: family 1, path, NUL; abstract names start with NUL", () => {
    expect([...unixAddress("/run/x")]).toEqual([1, 0, ...new TextEncoder().encode("/run/x"), 0]);
    expect([...unixAddress("@x")]).toEqual([1, 0, 0, "x".charCodeAt(0)]);
  });
});
