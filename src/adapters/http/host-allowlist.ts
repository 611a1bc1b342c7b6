import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { AppError } from "../../core/errors.js";

/** One destination about to be contacted: the URL's host and port and the address it resolved to. */
interface Destination {
  hostname: string;
  port: number;
  address: string;
}

/** Decides whether a destination may be contacted even though its address is not public. */
export type HostAllowlist = (destination: Destination) => boolean;

type Entry =
  | { kind: "range"; range: [ipaddr.IPv4 | ipaddr.IPv6, number] }
  | { kind: "address"; address: ipaddr.IPv4 | ipaddr.IPv6; port: number | undefined }
  | { kind: "name"; hostname: string; port: number | undefined };

function parsePort(text: string, entry: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new AppError("config_invalid", `allowed host entry "${entry}" has an invalid port`);
  }
  return port;
}

function parseEntry(raw: string): Entry {
  const entry = raw.trim();
  if (entry.includes("/")) {
    try {
      const [network, prefixLength] = ipaddr.parseCIDR(entry);
      const normalized = normalize(network);
      // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8 written in IPv6.
      const shift = normalized.kind() === network.kind() ? 0 : 96;
      return { kind: "range", range: [normalized, Math.max(0, prefixLength - shift)] };
    } catch (error) {
      throw new AppError("config_invalid", `allowed host entry "${entry}" is not a valid CIDR range`, {
        cause: error,
      });
    }
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) {
    const [, address = "", port] = bracketed;
    if (isIP(address) !== 6)
      throw new AppError("config_invalid", `allowed host entry "${entry}" is not valid`);
    return {
      kind: "address",
      address: normalize(ipaddr.parse(address)),
      port: port ? parsePort(port, entry) : undefined,
    };
  }
  if (isIP(entry)) return { kind: "address", address: normalize(ipaddr.parse(entry)), port: undefined };
  const hostAndPort = /^([^:\s]+)(?::(\d+))?$/.exec(entry);
  if (!hostAndPort) throw new AppError("config_invalid", `allowed host entry "${entry}" is not valid`);
  const [, host = "", port] = hostAndPort;
  const parsedPort = port ? parsePort(port, entry) : undefined;
  if (isIP(host)) return { kind: "address", address: normalize(ipaddr.parse(host)), port: parsedPort };
  return { kind: "name", hostname: host.toLowerCase(), port: parsedPort };
}

// An IPv4-mapped IPv6 address reaches the same IPv4 host, so both spellings must match the same entries.
function normalize(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}

function sameAddress(left: ipaddr.IPv4 | ipaddr.IPv6, right: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return left.kind() === right.kind() && left.toNormalizedString() === right.toNormalizedString();
}

/**
 * Builds the allowlist from entries such as `127.0.0.1:8080`, `[::1]:8080`, `wiki.internal:443`,
 * `wiki.internal` (any port), `10.0.0.5` (any port) or `10.20.0.0/16`. Names match the URL's host name;
 * addresses and ranges match the address the name resolved to. A malformed entry fails at start-up.
 */
export function createHostAllowlist(entries: readonly string[]): HostAllowlist {
  const parsed = entries.filter((entry) => entry.trim() !== "").map(parseEntry);
  return ({ hostname, port, address }) => {
    const bareHostname = hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const zoneless = address.replace(/%.*$/, "");
    const resolved = ipaddr.isValid(zoneless) ? normalize(ipaddr.parse(zoneless)) : undefined;
    return parsed.some((entry) => matches(entry, bareHostname, port, resolved));
  };
}

function matches(
  entry: Entry,
  hostname: string,
  port: number,
  resolved: ipaddr.IPv4 | ipaddr.IPv6 | undefined,
): boolean {
  if (entry.kind === "name") {
    return entry.hostname === hostname && (entry.port === undefined || entry.port === port);
  }
  if (resolved === undefined) return false;
  if (entry.kind === "address") {
    return sameAddress(entry.address, resolved) && (entry.port === undefined || entry.port === port);
  }
  return resolved.kind() === entry.range[0].kind() && resolved.match(entry.range);
}
