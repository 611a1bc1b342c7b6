import { describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/ports/logger.js";
import { redactingLogger, redactSecrets } from "../../src/core/redaction.js";
import { recordingLogger } from "../support/e2e-helpers.js";

const DISCORD_BOT_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GAbCdE.aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab";
const INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpzZWNyZXQ";

describe("redactSecrets", () => {
  it("hides every credential shape, wherever it sits in the text", () => {
    const cases: Array<[string, string]> = [
      ["Bearer xoxb-1234-5678-abcdEFGH", "Bearer [redacted]"],
      ["user token xoxp-1-2-3-abcdef here", "user token [redacted] here"],
      ["app token xapp-1-A1-2-deadbeef.", "app token [redacted]."],
      [`bot ${DISCORD_BOT_TOKEN}`, "bot [redacted]"],
      [`token=${INTERACTION_TOKEN}&x=1`, "token=[redacted]&x=1"],
      ["key sk-proj-abcdefgh1234 and gsk_abcdefgh1234", "key [redacted] and [redacted]"],
    ];
    for (const [input, output] of cases) expect(redactSecrets(input)).toBe(output);
  });

  it("hides each shape on its own, in any piece of a longer text", () => {
    const alone = [
      "xoxb-1234-5678-abcdEFGH",
      "xapp-1-A1-2-deadbeef",
      DISCORD_BOT_TOKEN,
      INTERACTION_TOKEN,
      "sk-proj-abcdefgh1234",
      "gsk_abcdefgh1234",
      "pk-live-abcdefgh1234",
      "rk_live_abcdefgh1234",
    ];
    for (const secret of alone) expect(redactSecrets(`a ${secret} b`)).toBe("a [redacted] b");
    expect(redactSecrets("sent Bearer abcdefgh12345 twice")).toBe("sent Bearer [redacted] twice");
    expect(redactSecrets("see /webhooks/1234567890/abcdefghij now")).toBe(
      "see /webhooks/1234567890/[redacted] now",
    );
    expect(redactSecrets("AUTHORIZATION=opaque-value")).toBe("AUTHORIZATION=[redacted]");
  });

  it("hides the token in a webhook or interaction URL, whatever its shape", () => {
    expect(
      redactSecrets(
        "PATCH http://127.0.0.1:9/api/v10/webhooks/1234567890/any-token-shape_123/messages/@original",
      ),
    ).toBe("PATCH http://127.0.0.1:9/api/v10/webhooks/1234567890/[redacted]/messages/@original");
    expect(redactSecrets("/interactions/998877665544/tok.en-value/callback")).toBe(
      "/interactions/998877665544/[redacted]/callback",
    );
  });

  it("hides Authorization values in headers, JSON and query strings", () => {
    expect(redactSecrets("Authorization: Bot abc.def")).toBe("Authorization: Bot [redacted]");
    expect(redactSecrets('{"authorization":"Basic dXNlcjpwYXNz"}')).toBe(
      '{"authorization":"Basic [redacted]"}',
    );
    expect(redactSecrets("authorization=opaque-value;")).toBe("authorization=[redacted];");
  });

  it("hides a bearer token quoted outside a header, and leaves the word alone in prose", () => {
    expect(redactSecrets("request failed: Bearer eyJhbGciOi.payload.sig sent")).toBe(
      "request failed: Bearer [redacted] sent",
    );
    expect(redactSecrets("Authorization: Bearer opaque-token-1")).toBe("Authorization: Bearer [redacted]");
    const prose = "The bearer of this note may collect the parcel.";
    expect(redactSecrets(prose)).toBe(prose);
  });

  it("hides the deployment's secrets by value, URL-encoded too, and leaves ordinary text alone", () => {
    const secrets = ["signing+secret/42", "abc"];
    expect(redactSecrets("sig signing+secret/42 and signing%2Bsecret%2F42", secrets)).toBe(
      "sig [redacted] and [redacted]",
    );
    // Too short to match by value without hitting ordinary words.
    expect(redactSecrets("abc is fine", secrets)).toBe("abc is fine");
    const ordinary = "The deploy takes 10 minutes; see https://wiki.example/runbook#step-3.";
    expect(redactSecrets(ordinary, secrets)).toBe(ordinary);
  });
});

describe("redactingLogger", () => {
  it("redacts messages, fields, errors with their own fields and causes, and child bindings", () => {
    const entries: Array<Record<string, unknown>> = [];
    const logger: Logger = redactingLogger(recordingLogger(entries), ["configured-secret-value"]);
    const cause = new Error("echoed configured-secret-value");
    const error = Object.assign(
      new Error("request to /webhooks/123456789/the-token-itself failed", { cause }),
      {
        url: `http://discord/api/v10/webhooks/123456789/${INTERACTION_TOKEN}`,
        status: 404,
      },
    );
    logger
      .child({ token: "xoxb-1-2-bindingtoken" })
      .error({ err: error, note: "xapp-1-2-3-abc" }, "failed for xoxb-9-8-7-message");
    const logged = JSON.stringify(entries);
    for (const secret of [
      "configured-secret-value",
      "the-token-itself",
      INTERACTION_TOKEN,
      "xoxb-",
      "xapp-",
    ]) {
      expect(logged).not.toContain(secret);
    }
    expect(entries[0]).toMatchObject({
      message: "failed for [redacted]",
      note: "[redacted]",
      err: { type: "Error", status: 404, cause: { message: "echoed [redacted]" } },
    });
  });

  it("wraps once: a redacting logger given to another root is not wrapped again", () => {
    const inner = recordingLogger([]);
    const once = redactingLogger(inner, []);
    expect(redactingLogger(once, ["x"])).toBe(once);
  });
});
