import net from "node:net";

/**
 * Patches `net.Socket.prototype.connect` for one test file so that any outgoing connection to a host
 * not listed is blocked before a packet leaves and recorded. Tests of the address guard use it as a
 * second line of defence: if the guard ever broke, the test fails without touching a private address.
 */
export function installConnectionTripwire(allowedHosts: readonly string[]): {
  blocked: string[];
  uninstall: () => void;
} {
  const allowed = new Set(allowedHosts);
  const blocked: string[] = [];
  const original = net.Socket.prototype.connect;
  const guarded = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const options =
      typeof first === "object" && first !== null ? (first as { host?: unknown; path?: unknown }) : {};
    const host =
      typeof options.host === "string" ? options.host : typeof args[1] === "string" ? args[1] : undefined;
    // A Unix socket path is local by construction; http passes `path: null` for TCP.
    const unixSocket = typeof options.path === "string";
    if (!unixSocket && !allowed.has(host ?? "localhost")) {
      blocked.push(host ?? "localhost");
      throw new Error(`connection tripwire: blocked a connection to ${host ?? "localhost"}`);
    }
    return (original as (...parameters: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = guarded as typeof net.Socket.prototype.connect;
  return {
    blocked,
    uninstall: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
