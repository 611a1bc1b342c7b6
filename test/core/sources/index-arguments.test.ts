import { describe, expect, it } from "vitest";
import { parseIndexArguments } from "../../../src/core/commands/index-arguments.js";
import { describeInterval, parseInterval } from "../../../src/core/sources/source-ids.js";

describe("index arguments", () => {
  it("takes the flags off wherever they stand and leaves the target", () => {
    expect(parseIndexArguments("https://docs.example.com/ --crawl --max 50 --every 6h --workspace")).toEqual({
      target: "https://docs.example.com/",
      crawl: true,
      max: 50,
      every: "6h",
      scope: "workspace",
    });
    expect(parseIndexArguments("--every=1d <https://docs.example.com/a|docs> --channel")).toEqual({
      target: "<https://docs.example.com/a|docs>",
      crawl: false,
      every: "1d",
      scope: "channel",
    });
    // Chat clients turn -- into an em dash.
    expect(parseIndexArguments("https://x.example/ —crawl")).toMatchObject({ crawl: true });
    expect(parseIndexArguments("this")).toEqual({ target: "this", crawl: false });
  });

  it("refuses a malformed flag with a sentence", () => {
    expect(parseIndexArguments("https://x.example/ --max lots")).toMatch(/`--max` takes a number/);
    expect(parseIndexArguments("https://x.example/ --max 0")).toMatch(/`--max` takes a number/);
    expect(parseIndexArguments("https://x.example/ --max 99999")).toMatch(/`--max` takes a number/);
    expect(parseIndexArguments("https://x.example/ --every")).toMatch(/Say how often/);
    expect(parseIndexArguments("https://x.example/ --deep")).toMatch(/I don't know the flag `--deep`/);
  });

  it("reads intervals in seconds to weeks and writes them back the short way", () => {
    expect(parseInterval("6h")).toBe(6 * 3_600_000);
    expect(parseInterval("1d")).toBe(86_400_000);
    expect(parseInterval("30m")).toBe(1_800_000);
    expect(parseInterval("2w")).toBe(2 * 604_800_000);
    expect(parseInterval("0h")).toBeUndefined();
    expect(parseInterval("6 hours")).toBeUndefined();
    expect(parseInterval("-1d")).toBeUndefined();
    expect(describeInterval(86_400_000)).toBe("1d");
    expect(describeInterval(90 * 60_000)).toBe("90m");
    expect(describeInterval(2_000)).toBe("2s");
  });
});
