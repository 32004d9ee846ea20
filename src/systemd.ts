import { dlopen, FFIType, type Pointer, ptr } from "bun:ffi";
import type { Logger } from "./log.ts";

/**
 * sd_notify(3) for `Type=notify` units: READY=1 once the process is really up (serve: listening),
 * STATUS= for `systemctl status`, STOPPING=1 when shutdown begins.
 *
 * The protocol is one datagram on the AF_UNIX socket named by NOTIFY_SOCKET. Neither Bun nor Node
 * can send unix datagrams (node:dgram is UDP only), so this calls libc through bun:ffi: socket,
 * sendto, close. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
 */
export type SystemdNotifier = {
  ready(status?: string): void;
  status(text: string): void;
  stopping(): void;
};

export function createSystemdNotifier(socketPath: string | undefined, logger: Logger): SystemdNotifier {
  if (!socketPath) return { ready() {}, status() {}, stopping() {} };
  let warned = false;
  const send = (state: string) => {
    try {
      sendDatagram(socketPath, state);
    } catch (err) {
      if (!warned) logger.warn("cannot notify systemd", { err, socket: socketPath });
      warned = true;
    }
  };
  return {
    ready: (status) => send(status ? `READY=1\nSTATUS=${status}` : "READY=1"),
    status: (text) => send(`STATUS=${text}`),
    stopping: () => send("STOPPING=1\nSTATUS=stopping"),
  };
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

type Libc = {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Pointer, len: number, flags: number, addr: Pointer, addrLen: number): number | bigint;
  close(fd: number): number;
};

let libc: Libc | undefined;

/** glibc's libc.so.6, opened on the first notification only (never outside systemd). */
function openLibc(): Libc {
  libc ??= dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: {
      args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
      returns: FFIType.i64,
    },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  }).symbols as unknown as Libc;
  return libc;
}

/** `struct sockaddr_un` for a path, or for an abstract name written `@name` as systemd does. */
export function unixAddress(path: string): Uint8Array {
  const name = new TextEncoder().encode(path.startsWith("@") ? `\0${path.slice(1)}` : path);
  if (name.length > 107) throw new Error(`socket path too long: ${path}`);
  const addr = new Uint8Array(2 + name.length + (path.startsWith("@") ? 0 : 1));
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true); // sa_family, host order (little-endian here)
  addr.set(name, 2);
  return addr;
}

function sendDatagram(path: string, message: string): void {
  const libc = openLibc();
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error("socket(AF_UNIX, SOCK_DGRAM) failed");
  try {
    const body = new TextEncoder().encode(message);
    const addr = unixAddress(path);
    const sent = Number(libc.sendto(fd, ptr(body), body.length, 0, ptr(addr), addr.length));
    if (sent !== body.length) throw new Error(`sendto ${path} failed`);
  } finally {
    libc.close(fd);
  }
}
