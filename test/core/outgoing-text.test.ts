import { describe, expect, it } from "vitest";
import { neutralizeMentions, OutgoingTextFilter, safeOutgoingText } from "../../src/core/outgoing-text.js";

const ZWSP = "\u200b";

describe("neutralizeMentions", () => {
  it("makes Slack and Discord mass mentions and pings inert, keeping them readable", () => {
    expect(neutralizeMentions("<!channel> <!here|here> <!everyone>")).toBe(
      `@${ZWSP}channel @${ZWSP}here @${ZWSP}everyone`,
    );
    expect(neutralizeMentions("ping <!subteam^S0123|@oncall> and <@U024BE7LH> or <@W1|ada>")).toBe(
      `ping @${ZWSP}oncall and @${ZWSP}U024BE7LH or @${ZWSP}W1`,
    );
    expect(neutralizeMentions("@everyone @here <@123456> <@!123456> <@&987654>")).toBe(
      `@${ZWSP}everyone @${ZWSP}here @${ZWSP}123456 @${ZWSP}123456 @${ZWSP}&987654`,
    );
    // Dates, links and e-mail addresses are not mentions.
    const harmless = "<!date^1700000000^{date}|Nov 14> <https://x.example|x> ada@example.com";
    expect(neutralizeMentions(harmless)).toBe(harmless);
  });
});

describe("OutgoingTextFilter", () => {
  const text =
    "Heads up <!channel>: the token xoxb-1111-2222-abcdefgh leaked, tell @everyone and <@U123> <!subteam^S9|@ops> now.";

  it("catches a mention or a token split across pieces, however the text is cut", () => {
    const expected = safeOutgoingText(text);
    expect(expected).not.toContain("<!channel>");
    expect(expected).not.toContain("xoxb-");
    for (let size = 1; size <= 12; size++) {
      const filter = new OutgoingTextFilter();
      let shown = "";
      for (let start = 0; start < text.length; start += size)
        shown += filter.push(text.slice(start, start + size));
      shown += filter.flush();
      expect(shown).toBe(expected);
    }
  });

  it("lets finished words through at once and holds only the unfinished tail", () => {
    const filter = new OutgoingTextFilter();
    expect(filter.push("Hello wor")).toBe("Hello ");
    expect(filter.push("ld <!chan")).toBe("world ");
    expect(filter.push("nel> done")).toBe(`@${ZWSP}channel `);
    expect(filter.flush()).toBe("done");
  });

  it("does not hold a long run without breaks forever", () => {
    const filter = new OutgoingTextFilter();
    const shown = filter.push("x".repeat(1_000));
    expect(shown.length).toBeGreaterThan(500);
    expect(shown + filter.flush()).toBe("x".repeat(1_000));
  });

  it("redacts the configured secrets by value", () => {
    const filter = new OutgoingTextFilter(["hunter2-signing-secret"]);
    const shown = filter.push("the secret is hunter2-sig") + filter.push("ning-secret ok") + filter.flush();
    expect(shown).toBe("the secret is [redacted] ok");
  });
});
