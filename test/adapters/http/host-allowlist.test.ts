import { describe, expect, it } from "vitest";
import { classifyAddress } from "../../../src/adapters/http/address-class.js";
import { createHostAllowlist } from "../../../src/adapters/http/host-allowlist.js";
import { AppError } from "../../../src/core/errors.js";

describe("classifyAddress", () => {
  it.each([
    ["8.8.8.8", undefined],
    ["172.32.0.1", undefined],
    ["2606:4700:4700::1111", undefined],
    ["::ffff:8.8.8.8", undefined],
    ["127.0.0.1", "loopback"],
    ["10.255.255.255", "private"],
    ["172.16.0.0", "private"],
    ["192.168.200.1", "private"],
    ["100.127.255.255", "carrier-grade-nat"],
    ["169.254.0.1", "link-local"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fe80::1%eth0", "link-local"],
    ["fc00::1", "unique-local"],
    ["fdff:ffff::1", "unique-local"],
    ["::ffff:192.168.0.1", "private"],
    ["::7f00:1", "loopback"],
    ["::127.0.0.1", "loopback"],
    ["::ffff:0:10.0.0.1", "reserved"],
    ["::8.8.8.8", "reserved"],
    ["2002:c0a8:101::1", "reserved"],
    ["not-an-address", "invalid"],
  ])("%s is %s", (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

describe("createHostAllowlist", () => {
  const allowlist = createHostAllowlist([
    "127.0.0.1:8080",
    "[::1]:9090",
    "wiki.internal",
    "docs.internal:8443",
    "10.20.0.0/16",
    "192.168.1.5",
    "::ffff:172.16.0.0/108",
  ]);

  it.each([
    [{ hostname: "127.0.0.1", port: 8080, address: "127.0.0.1" }, true],
    [{ hostname: "127.0.0.1", port: 8081, address: "127.0.0.1" }, false],
    [{ hostname: "anything.test", port: 8080, address: "::ffff:127.0.0.1" }, true],
    [{ hostname: "[::1]", port: 9090, address: "::1" }, true],
    [{ hostname: "::1", port: 9091, address: "::1" }, false],
    [{ hostname: "WIKI.internal", port: 1234, address: "10.9.9.9" }, true],
    [{ hostname: "docs.internal", port: 8443, address: "10.9.9.9" }, true],
    [{ hostname: "docs.internal", port: 443, address: "10.9.9.9" }, false],
    [{ hostname: "x.test", port: 80, address: "10.20.3.4" }, true],
    [{ hostname: "x.test", port: 80, address: "10.21.3.4" }, false],
    [{ hostname: "x.test", port: 22, address: "192.168.1.5" }, true],
    [{ hostname: "x.test", port: 22, address: "192.168.1.6" }, false],
    [{ hostname: "x.test", port: 80, address: "172.16.9.9" }, true],
    [{ hostname: "x.test", port: 80, address: "172.31.0.1" }, true],
    [{ hostname: "x.test", port: 80, address: "172.32.0.1" }, false],
  ])("%o → %s", (destination, expected) => {
    expect(allowlist(destination)).toBe(expected);
  });

  it("allows nothing when empty", () => {
    expect(createHostAllowlist([])({ hostname: "127.0.0.1", port: 80, address: "127.0.0.1" })).toBe(false);
  });

  it.each(["10.0.0.0/99", "host:99999", "bad host", "[nope]:80"])(
    "fails fast on a malformed entry %s",
    (entry) => {
      expect(() => createHostAllowlist([entry])).toThrow(AppError);
    },
  );
});
