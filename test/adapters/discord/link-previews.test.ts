import { describe, expect, it } from "vitest";
import { withoutLinkPreviews } from "../../../src/adapters/discord/link-previews.js";
import { previewedLinks } from "../../support/discord-stand-in.js";

describe("withoutLinkPreviews (content next to the sources embed)", () => {
  it("wraps bare and masked links in <…>, leaves wrapped ones and code alone", () => {
    const content = [
      "See https://attacker.example/collect?d=secret, or [the runbook](https://wiki.example/runbook).",
      "Already safe: <https://ok.example/x> and [label](<https://ok.example/y>).",
      "In parentheses (https://wiki.example/faq).",
      "`https://code.example/inline` and",
      "```\ncurl https://code.example/block\n```",
    ].join("\n");
    const safe = withoutLinkPreviews(content);
    expect(safe).toBe(
      [
        "See <https://attacker.example/collect?d=secret>, or [the runbook](<https://wiki.example/runbook>).",
        "Already safe: <https://ok.example/x> and [label](<https://ok.example/y>).",
        "In parentheses (<https://wiki.example/faq>).",
        "`https://code.example/inline` and",
        "```\ncurl https://code.example/block\n```",
      ].join("\n"),
    );
    expect(previewedLinks(content).length).toBeGreaterThan(0);
    expect(previewedLinks(safe)).toEqual([]);
  });

  it("is idempotent", () => {
    const once = withoutLinkPreviews("go to https://x.example/a and [b](https://x.example/b)");
    expect(withoutLinkPreviews(once)).toBe(once);
  });
});
