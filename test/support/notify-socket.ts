import { dlopen, FFIType, ptr } from "bun:ffi";
import { unixAddress } from "../../src/systemd.ts";

// The receiving end systemd holds for a Type=notify unit: a bound AF_UNIX datagram socket, read
// without blocking. Through libc, as Bun has no unix datagram sockets.
const { symbols: libc } = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
});
const MSG_DONTWAIT = 0x40;

export type NotifySocket = {
  /** Every datagram received so far, oldest first. */
  messages(): string[];
  close(): void;
};

/** Binds `path` (or an abstract `@name`) and collects what is sent to it. */
export function listenNotifySocket(path: string): NotifySocket {
  const fd = libc.socket(1, 2, 0);
  const addr = unixAddress(path);
  if (libc.bind(fd, ptr(addr), addr.length) !== 0) throw new Error(`bind ${path} failed`);
  const received: string[] = [];
  return {
    messages() {
      const buf = new Uint8Array(4096);
      for (;;) {
        const n = Number(libc.recv(fd, ptr(buf), buf.length, MSG_DONTWAIT));
        if (n < 0) return [...received];
        received.push(new TextDecoder().decode(buf.subarray(0, n)));
      }
    },
    close: () => libc.close(fd),
  };
}
