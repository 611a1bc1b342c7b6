import ipaddr from "ipaddr.js";

/** Why an address is not a public internet address; `undefined` from {@link classifyAddress} means public. */
export type RestrictedAddressClass =
  | "loopback"
  | "private"
  | "unique-local"
  | "carrier-grade-nat"
  | "link-local"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "reserved"
  | "invalid";

const IPV4_CLASSES: Record<string, RestrictedAddressClass> = {
  loopback: "loopback",
  private: "private",
  carrierGradeNat: "carrier-grade-nat",
  linkLocal: "link-local",
  unspecified: "unspecified",
  multicast: "multicast",
  broadcast: "broadcast",
};

const IPV6_CLASSES: Record<string, RestrictedAddressClass> = {
  loopback: "loopback",
  uniqueLocal: "unique-local",
  linkLocal: "link-local",
  unspecified: "unspecified",
  multicast: "multicast",
};

function classifyIpv4(address: ipaddr.IPv4): RestrictedAddressClass | undefined {
  const range = address.range();
  if (range === "unicast") return undefined;
  // Everything else ipaddr.js names (documentation, benchmarking, 240/4, AS112, AMT…) is not a
  // destination a document link should ever reach.
  return IPV4_CLASSES[range] ?? "reserved";
}

// ipaddr.js reads any dotted tail (`::8.8.8.8`) as IPv4-mapped; the WHATWG URL parser spells the
// address the way the socket will see it (`::808:808`, an IPv4-compatible address).
function canonicalIpv6(address: string): string {
  if (!address.includes(":") || !address.includes(".")) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

/**
 * Classifies an IP address literal. Only globally routable unicast addresses pass. IPv4-mapped
 * (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) IPv6 forms are judged by the IPv4 address they
 * carry; translation prefixes (NAT64, 6to4, Teredo) are refused outright because the host behind them
 * cannot be judged from here.
 */
export function classifyAddress(address: string): RestrictedAddressClass | undefined {
  const zoneless = canonicalIpv6(address.replace(/%.*$/, ""));
  if (!ipaddr.isValid(zoneless)) return "invalid";
  const parsed = ipaddr.parse(zoneless);
  if (parsed.kind() === "ipv4") return classifyIpv4(parsed as ipaddr.IPv4);
  const ipv6 = parsed as ipaddr.IPv6;
  if (ipv6.isIPv4MappedAddress()) return classifyIpv4(ipv6.toIPv4Address());
  const range = ipv6.range();
  if (range === "unicast") {
    // ipaddr.js has no name for the deprecated IPv4-compatible block ::/96, so it reports "unicast".
    const parts = ipv6.parts;
    if (parts.slice(0, 6).every((part) => part === 0)) {
      const high = parts[6] ?? 0;
      const low = parts[7] ?? 0;
      const embedded = new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
      return classifyIpv4(embedded) ?? "reserved";
    }
    return undefined;
  }
  return IPV6_CLASSES[range] ?? "reserved";
}

/** The end of "I can't fetch that address: …", one per class. */
export function describeAddressClass(restricted: RestrictedAddressClass): string {
  switch (restricted) {
    case "loopback":
      return "it points to this machine itself";
    case "private":
    case "unique-local":
    case "carrier-grade-nat":
      return "it points to a private network";
    case "link-local":
      return "it points to a link-local or cloud metadata address";
    case "unspecified":
    case "multicast":
    case "broadcast":
    case "reserved":
    case "invalid":
      return "it is not a public internet address";
  }
}
