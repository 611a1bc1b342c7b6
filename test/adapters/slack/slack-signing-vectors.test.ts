import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isValidSlackRequest } from "@slack/bolt";
import { describe, expect, it } from "vitest";
import { SPECS_DIR } from "../../support/openapi-validator.js";
import { signSlackBody } from "../../support/slack-signing.js";

interface SigningVector {
  name: string;
  signing_secret: string;
  timestamp: string;
  body: string;
  signature: string;
  now: number;
  valid: boolean;
}

const vectors = (
  JSON.parse(readFileSync(join(SPECS_DIR, "slack/fixtures/signing_vectors.json"), "utf8")) as {
    cases: SigningVector[];
  }
).cases;

describe("Slack request signing vectors (test/fixtures/specs/slack/fixtures/signing_vectors.json)", () => {
  it("has the seven published and computed cases", () => {
    expect(vectors).toHaveLength(7);
  });

  it.each(vectors.map((vector) => [vector.name, vector] as const))("%s", (_name, vector) => {
    // Bolt's own verification, the one the HTTP receiver runs, at the vector's "now".
    const verdict = isValidSlackRequest({
      signingSecret: vector.signing_secret,
      body: vector.body,
      headers: {
        "x-slack-signature": vector.signature,
        "x-slack-request-timestamp": Number(vector.timestamp),
      },
      nowMilliseconds: vector.now * 1000,
    });
    expect(verdict).toBe(vector.valid);
  });

  it("the test signer reproduces every valid vector's signature", () => {
    for (const vector of vectors.filter((candidate) => candidate.valid)) {
      expect(signSlackBody(vector.signing_secret, vector.timestamp, vector.body)).toBe(vector.signature);
    }
  });
});
