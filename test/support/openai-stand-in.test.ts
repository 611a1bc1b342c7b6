import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import OpenAI, { toFile } from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashedEmbedding, type OpenAiStandIn, startOpenAiStandIn } from "./openai-stand-in.js";
import { OpenApiValidator } from "./openapi-validator.js";

// An independent validator, so a stand-in that forgot to check its own output still fails here.
const spec = new OpenApiValidator("openai/openapi.subset.json", "/v1");

let standIn: OpenAiStandIn;
let client: OpenAI;

beforeEach(async () => {
  standIn = await startOpenAiStandIn();
  client = new OpenAI({ apiKey: "sk-stand-in-test", baseURL: standIn.baseUrl, maxRetries: 0 });
});

afterEach(async () => {
  await standIn.close();
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${standIn.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-raw" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const chatBody = (stream: boolean, includeUsage = true) => ({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "tell me about teal" }],
  stream,
  ...(stream && includeUsage ? { stream_options: { include_usage: true } } : {}),
});

function cosine(left: number[], right: number[]): number {
  return left.reduce((sum, value, index) => sum + value * (right[index] ?? 0), 0);
}

describe("chat completions", () => {
  it("serves only chunks that validate as CreateChatCompletionStreamResponse, fixtures and scripted alike", async () => {
    const fixtures = ["text", "single-tool-call", "parallel-tool-calls", "finish-length", "refusal"];
    for (const name of fixtures) standIn.enqueue({ kind: "fixture", name });
    standIn.enqueue(
      { kind: "text", text: "A scripted answer in several pieces." },
      { kind: "tool-calls", calls: [{ name: "lookup", arguments: '{"q":"teal"}' }], text: "Looking." },
      {
        kind: "tool-calls",
        calls: [
          { name: "a", arguments: "{}" },
          { name: "b", arguments: '{"x":1}' },
        ],
      },
      { kind: "text", text: "cut short", finishReason: "length" },
    );
    for (let index = 0; index < fixtures.length + 4; index += 1) {
      const stream = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const _chunk of stream) {
        // Draining is the point: the stand-in records what it served.
      }
    }
    expect(standIn.servedChunks.length).toBeGreaterThan(40);
    for (const raw of standIn.servedChunks) {
      const result = spec.validateSchema("CreateChatCompletionStreamResponse", JSON.parse(raw));
      expect(result.errors).toBe("");
    }
    standIn.assertNoViolations();
  });

  it("streams SSE: role first, several content deltas, finish, usage chunk, then [DONE]", async () => {
    standIn.enqueue({ kind: "text", text: "one two three four five six", deltas: 3 });
    const response = await post("/chat/completions", chatBody(true));
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const text = await response.text();
    const events = text.split("\n\n").filter(Boolean);
    expect(events.every((event) => event.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice(6)));
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    const contents = chunks.flatMap((chunk) =>
      chunk.choices.map((choice: { delta: { content?: string } }) => choice.delta.content ?? ""),
    );
    expect(contents.filter(Boolean)).toHaveLength(3);
    expect(contents.join("")).toBe("one two three four five six");
    expect(chunks.at(-2).choices[0].finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
  });

  it("sends no usage chunk unless the request asks for it, as OpenAI does", async () => {
    const text = await (await post("/chat/completions", chatBody(true, false))).text();
    expect(text).not.toContain('"usage"');
    const contents = text
      .split("\n\n")
      .filter((event) => event.startsWith("data: {"))
      .map((event) => JSON.parse(event.slice(6)) as { choices: Array<{ delta: { content?: string } }> })
      .map((chunk) => chunk.choices[0]?.delta.content ?? "");
    expect(contents.join("")).toBe("Echo: tell me about teal");
  });

  it("answers non-streamed requests with a spec-valid ChatCompletion, fixtures folded in", async () => {
    standIn.enqueue({ kind: "fixture", name: "parallel-tool-calls" });
    const response = await post("/chat/completions", chatBody(false));
    const completion = (await response.json()) as {
      choices: Array<{
        finish_reason: string;
        message: { tool_calls: Array<{ function: { name: string } }> };
      }>;
    };
    expect(spec.validateResponseBody("/chat/completions", "post", "200", completion).errors).toBe("");
    const [choice] = completion.choices;
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.tool_calls.map((call) => call.function.name)).toEqual([
      "GetWeatherArgs",
      "get_stock_price",
    ]);
  });

  it("lets a responder answer from the prompt, after queued replies run out", async () => {
    const seen: string[] = [];
    standIn.setResponder((body) => {
      seen.push(String(body.messages.at(-1)?.content));
      return {
        kind: "text",
        text: body.messages.some((message) => message.role === "system") ? "with system" : "bare",
      };
    });
    standIn.enqueue({ kind: "text", text: "queued first" });
    const answers: Array<string | null | undefined> = [];
    for (const withSystem of [false, true, false]) {
      const completion = await client.chat.completions.create({
        model: "m",
        messages: [
          ...(withSystem ? [{ role: "system" as const, content: "persona" }] : []),
          { role: "user", content: `q${answers.length}` },
        ],
      });
      answers.push(completion.choices[0]?.message.content);
    }
    expect(answers).toEqual(["queued first", "with system", "bare"]);
    expect(seen).toEqual(["q1", "q2"]);
    expect(standIn.chatRequests().map((body) => body.model)).toEqual(["m", "m", "m"]);
  });

  it("flags an invalid request: 400 in OpenAI's error shape, recorded as a violation", async () => {
    const response = await post("/chat/completions", {
      model: "m",
      messages: [{ role: "wizard", content: "hi" }],
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: unknown } };
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "spec_violation" });
    expect(typeof body.error.message).toBe("string");
    expect(standIn.violations).toHaveLength(1);
    expect(standIn.violations[0]).toMatchObject({ direction: "request", path: "/v1/chat/completions" });
    expect(() => standIn.assertNoViolations()).toThrow(/spec violation/);

    const missingModel = await post("/embeddings", { input: "x" });
    expect(missingModel.status).toBe(400);
    const notJson = await post("/chat/completions", "{not json");
    expect(notJson.status).toBe(400);
    expect(standIn.violations).toHaveLength(3);
  });

  it("records requests without the authorization header", async () => {
    await post("/chat/completions", chatBody(false));
    const [recorded] = standIn.requests;
    expect(recorded).toMatchObject({
      method: "POST",
      path: "/v1/chat/completions",
      hasAuthorization: true,
      status: 200,
    });
    expect(recorded?.headers.authorization).toBeUndefined();
    expect(JSON.stringify(standIn.requests)).not.toContain("sk-raw");
  });
});

describe("faults", () => {
  it("serves a 429 in OpenAI's shape with retry-after-ms, then recovers", async () => {
    standIn.injectFault({ status: 429, times: 1, retryAfterMs: 250 });
    const limited = await post("/chat/completions", chatBody(false));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after-ms")).toBe("250");
    expect(await limited.json()).toEqual({
      error: {
        message: "Rate limit reached for requests",
        type: "requests",
        param: null,
        code: "rate_limit_exceeded",
      },
    });
    expect((await post("/chat/completions", chatBody(false))).status).toBe(200);
  });

  it("restricts a fault to one path when asked", async () => {
    standIn.injectFault({ status: 500, path: "/embeddings", times: 2 });
    expect((await post("/chat/completions", chatBody(false))).status).toBe(200);
    expect((await post("/embeddings", { model: "e", input: "x" })).status).toBe(500);
    expect((await post("/embeddings", { model: "e", input: "x" })).status).toBe(500);
    expect((await post("/embeddings", { model: "e", input: "x" })).status).toBe(200);
  });

  it("still validates requests while a fault is pending", async () => {
    standIn.injectFault({ status: 429 });
    const invalid = await post("/chat/completions", { model: "m" });
    expect(invalid.status).toBe(400);
    expect(standIn.violations).toHaveLength(1);
    expect((await post("/chat/completions", chatBody(false))).status).toBe(429);
  });

  it("rejects a wrong key with 401 when configured with one", async () => {
    await standIn.close();
    standIn = await startOpenAiStandIn({ apiKey: "sk-right" });
    expect((await post("/chat/completions", chatBody(false))).status).toBe(401);
  });

  it("cuts the socket after N events", async () => {
    standIn.enqueue({ kind: "text", text: "a b c d e f", deltas: 6, cutAfterChunks: 2 });
    const response = await post("/chat/completions", chatBody(true));
    await expect(response.text()).rejects.toThrow();
  });
});

describe("embeddings and models", () => {
  it("gives similar texts similar normalised vectors, honouring dimensions and base64", async () => {
    const response = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: ["the cat sat on the mat", "the cat sat on a mat", "quarterly revenue grew strongly"],
      encoding_format: "float",
    });
    const [cat, similar, revenue] = response.data.map((item) => item.embedding);
    expect(cat).toHaveLength(64);
    expect(cosine(cat ?? [], cat ?? [])).toBeCloseTo(1, 6);
    expect(cosine(cat ?? [], similar ?? [])).toBeGreaterThan(0.7);
    expect(cosine(cat ?? [], revenue ?? [])).toBeLessThan(0.3);

    // The SDK's default asks for base64 float32 and decodes it.
    const decoded = await client.embeddings.create({ model: "e", input: "hello world", dimensions: 16 });
    const expected = hashedEmbedding("hello world", 16);
    expect(decoded.data[0]?.embedding.map((value) => Number(value.toFixed(5)))).toEqual(
      expected.map((value) => Number(value.toFixed(5))),
    );
    standIn.assertNoViolations();
  });

  it("lists models", async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toContain("gpt-4o-mini");
  });
});

describe("files and fine-tuning", () => {
  const jsonl = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n';

  it("uploads a fine-tune file and walks a job to succeeded with a fine-tuned model", async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl), "train.jsonl"),
      purpose: "fine-tune",
    });
    expect(file).toMatchObject({
      object: "file",
      purpose: "fine-tune",
      filename: "train.jsonl",
      bytes: jsonl.length,
    });
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);
    expect(standIn.requests[0]?.body).toMatchObject({ purpose: "fine-tune" });

    const job = await client.fineTuning.jobs.create({
      model: "gpt-4o-mini-2024-07-18",
      training_file: file.id,
    });
    expect(job.status).toBe("validating_files");
    const statuses = [job.status as string];
    for (let poll = 0; poll < 5; poll += 1)
      statuses.push((await client.fineTuning.jobs.retrieve(job.id)).status);
    expect(statuses).toEqual([
      "validating_files",
      "queued",
      "running",
      "succeeded",
      "succeeded",
      "succeeded",
    ]);
    const finished = await client.fineTuning.jobs.retrieve(job.id);
    expect(finished.fine_tuned_model).toMatch(/^ft:gpt-4o-mini-2024-07-18:teammate::/);
    expect(finished.finished_at).toEqual(expect.any(Number));

    const events = await client.fineTuning.jobs.listEvents(job.id);
    expect(events.data[0]?.message).toBe("The job has successfully completed");
    expect(events.data.some((event) => event.type === "metrics")).toBe(true);
    standIn.assertNoViolations();
  });

  it("scripts a failure, and cancels a running job", async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl), "t.jsonl"),
      purpose: "fine-tune",
    });
    standIn.scriptFineTuning({ outcome: "failed", pollsPerStatus: 2 });
    const failing = await client.fineTuning.jobs.create({ model: "gpt-4o-mini", training_file: file.id });
    let status: string = failing.status;
    let polls = 0;
    while (status !== "failed" && polls < 20) {
      status = (await client.fineTuning.jobs.retrieve(failing.id)).status;
      polls += 1;
    }
    expect(status).toBe("failed");
    expect(polls).toBe(6);
    expect((await client.fineTuning.jobs.retrieve(failing.id)).error?.code).toBe("invalid_training_file");

    const running = await client.fineTuning.jobs.create({ model: "gpt-4o-mini", training_file: file.id });
    const cancelled = await client.fineTuning.jobs.cancel(running.id);
    expect(cancelled.status).toBe("cancelled");
    expect((await client.fineTuning.jobs.retrieve(running.id)).status).toBe("cancelled");
    standIn.assertNoViolations();
  });

  it("refuses unknown files and jobs, and flags an invalid upload purpose", async () => {
    await expect(
      client.fineTuning.jobs.create({ model: "m", training_file: "file-missing" }),
    ).rejects.toMatchObject({
      status: 400,
    });
    await expect(client.fineTuning.jobs.retrieve("ftjob-missing")).rejects.toMatchObject({ status: 404 });
    const form = new FormData();
    form.append("purpose", "party");
    form.append("file", new Blob([jsonl]), "t.jsonl");
    const response = await fetch(`${standIn.baseUrl}/files`, { method: "POST", body: form });
    expect(response.status).toBe(400);
    expect(standIn.violations.map((violation) => violation.path)).toEqual(["/v1/files"]);
  });
});

describe("stand-alone server", () => {
  it("prints its base URL and answers with the echo responder until killed", async () => {
    const script = join(import.meta.dirname, "openai-stand-in-server.ts");
    const child = spawn(process.execPath, ["--import", "tsx", script, "--port", "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const [baseUrl] = (await once(lines, "line")) as [string];
      expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const cliClient = new OpenAI({ apiKey: "x", baseURL: baseUrl, maxRetries: 0 });
      const completion = await cliClient.chat.completions.create({
        model: "local",
        messages: [{ role: "user", content: "ping" }],
      });
      expect(completion.choices[0]?.message.content).toBe("Echo: ping");
    } finally {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  });
});
