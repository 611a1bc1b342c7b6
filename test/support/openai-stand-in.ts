import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type FineTuningScript, FineTuningSimulator } from "./openai-fine-tuning-simulator.js";
import { OpenApiValidator, SPECS_DIR } from "./openapi-validator.js";

/**
 * A local OpenAI-compatible server for tests: the real `openai` SDK talks to it over HTTP through its
 * `baseURL`. Every request body is validated against `test/fixtures/specs/openai/openapi.subset.json`, every
 * response it serves is checked against the same spec, and replies are scripted (queue, responder or
 * a deterministic echo) so tests assert on what the server received, not on mocks.
 */

/** How a scripted reply is delivered; applies to every reply kind. */
interface ReplyTiming {
  /** Wait this long before sending the status line and headers (a slow server). */
  delayMs?: number;
  /** Wait this long between streamed chunks. */
  chunkDelayMs?: number;
  /** Destroy the socket after this many SSE events (a cut connection). */
  cutAfterChunks?: number;
}

interface ScriptedToolCall {
  id?: string;
  name: string;
  arguments: string;
}

export type StandInReply = ReplyTiming &
  (
    | {
        kind: "text";
        text: string;
        finishReason?: "stop" | "length" | "content_filter";
        /** Split the text into about this many deltas when streaming. Default 4. */
        deltas?: number;
        /** End the stream cleanly (with `[DONE]`) but never send a finish_reason. */
        omitFinish?: boolean;
      }
    | { kind: "tool-calls"; calls: ScriptedToolCall[]; text?: string }
    /** A recorded stream from `test/fixtures/specs/openai/fixtures/chat-stream.<name>.sse`, e.g. `parallel-tool-calls`. */
    | { kind: "fixture"; name: string }
    /**
     * SSE `data:` payloads served verbatim and not checked against the spec: they imitate servers
     * that bend it (Ollama, llama.cpp). Include `[DONE]` yourself if the imitated server sends it.
     */
    | { kind: "raw"; events: string[] }
  );

/** The parsed body of a chat completion request, as loosely as the stand-in needs it. */
export interface ChatRequestBody {
  model: string;
  messages: Array<{ role: string; content?: unknown; name?: string }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  tools?: unknown[];
  [key: string]: unknown;
}

type Responder = (body: ChatRequestBody) => StandInReply | Promise<StandInReply>;

interface Fault {
  status: number;
  /** How many matching requests get the fault. Default 1. */
  times?: number;
  /** OpenAI error object; a default matching the status is used otherwise. */
  body?: { message: string; type: string; param?: string | null; code?: string | null };
  /** Sent as `retry-after-ms` (and `retry-after`). Default 5, so SDK retries are quick in tests. */
  retryAfterMs?: number;
  /** Only requests to this path (after `/v1`, e.g. `/chat/completions`) match. Default: every path. */
  path?: string;
}

interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-cased headers without `authorization`, so recorded traffic never holds a key. */
  headers: Record<string, string | string[] | undefined>;
  hasAuthorization: boolean;
  body: unknown;
  /** The status the stand-in answered with (or 0 if the socket was cut before a status). */
  status: number;
}

interface Violation {
  direction: "request" | "response";
  method: string;
  path: string;
  errors: string;
}

export interface OpenAiStandInOptions {
  /** Dimension of `/v1/embeddings` vectors when the request names none. Default 64. */
  embeddingDimension?: number;
  /** Model ids listed by `/v1/models`. */
  models?: string[];
  /** Serve `/v1/embeddings` data in reverse order (legal: clients must sort by `index`). */
  embeddingsOutOfOrder?: boolean;
  /** When set, requests whose bearer token differs get a 401. */
  apiKey?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
}

export interface OpenAiStandIn {
  /** `http://127.0.0.1:<port>/v1`, ready for the SDK's `baseURL`. */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  readonly violations: Violation[];
  /** Chat completion requests only, in order. */
  chatRequests(): ChatRequestBody[];
  assertNoViolations(): void;
  enqueue(...replies: StandInReply[]): void;
  setResponder(responder: Responder | undefined): void;
  injectFault(fault: Fault): void;
  /** How the next created fine-tuning jobs progress. */
  scriptFineTuning(script: FineTuningScript): void;
  readonly fineTuning: FineTuningSimulator;
  /** The exact SSE events (the JSON after `data: `) served so far, for spec checks. */
  readonly servedChunks: string[];
  close(): Promise<void>;
}

const FIXTURES_DIR = join(SPECS_DIR, "openai/fixtures");

let validatorInstance: OpenApiValidator | undefined;
// Compiling the 217 KB spec takes a moment, so every stand-in in a process shares one validator.
function validator(): OpenApiValidator {
  if (!validatorInstance) {
    validatorInstance = new OpenApiValidator("openai/openapi.subset.json", "/v1");
    // Compile the hot schemas now: compiling inside the first request would stall this process's event
    // loop for a second or two and skew the timing tests that share it.
    validatorInstance.validateRequestBody("/chat/completions", "post", {});
    validatorInstance.validateSchema("CreateChatCompletionStreamResponse", {});
    validatorInstance.validateResponseBody("/chat/completions", "post", "200", {});
  }
  return validatorInstance;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly errorBody: { message: string; type: string; param: string | null; code: string | null },
  ) {
    super(errorBody.message);
  }
}

function errorBody(status: number, message: string, code: string | null = null, param: string | null = null) {
  const type =
    status === 429
      ? "requests"
      : status === 401
        ? "invalid_api_key"
        : status >= 500
          ? "server_error"
          : "invalid_request_error";
  return { message, type, param, code };
}

function defaultFaultBody(status: number) {
  if (status === 429) {
    const fixture = JSON.parse(readFileSync(join(FIXTURES_DIR, "error.429.rate_limit.json"), "utf8")) as {
      body: { error: { message: string; type: string; param: string | null; code: string | null } };
    };
    return fixture.body.error;
  }
  if (status >= 500) return errorBody(status, "The server had an error while processing your request.");
  if (status === 401) return errorBody(401, "Incorrect API key provided.", "invalid_api_key");
  return errorBody(status, "Invalid request.");
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** Text of the last user message, for the echo default and for responders. */
export function lastUserText(body: ChatRequestBody): string {
  const user = [...body.messages].reverse().find((message) => message.role === "user");
  if (!user) return "";
  if (typeof user.content === "string") return user.content;
  if (Array.isArray(user.content)) {
    return user.content
      .map((part) => (part && typeof part === "object" && "text" in part ? String(part.text) : ""))
      .join("");
  }
  return "";
}

function approximateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Splits text into about `count` pieces on word boundaries, whitespace kept, so deltas rejoin exactly. */
function splitIntoDeltas(text: string, count: number): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? [];
  if (words.length === 0) return [text];
  const size = Math.max(1, Math.ceil(words.length / Math.max(1, count)));
  const pieces: string[] = [];
  for (let start = 0; start < words.length; start += size)
    pieces.push(words.slice(start, start + size).join(""));
  return pieces;
}

/** Cuts a string into fragments of about `size` characters (tool-call arguments arrive like this). */
function fragments(text: string, size: number): string[] {
  const parts: string[] = [];
  for (let start = 0; start < text.length; start += size) parts.push(text.slice(start, start + size));
  return parts;
}

interface StreamPlan {
  /** Raw `data:` payloads, JSON chunks then `[DONE]`. */
  events: string[];
}

let completionCounter = 0;

function buildChunks(reply: StandInReply, body: ChatRequestBody): StreamPlan {
  if (reply.kind === "raw") return { events: [...reply.events] };
  if (reply.kind === "fixture") {
    const raw = readFileSync(join(FIXTURES_DIR, `chat-stream.${reply.name}.sse`), "utf8");
    const events = raw
      .split(/\r?\n\r?\n/)
      .map((block) => block.trim())
      .filter((block) => block.startsWith("data:"))
      .map((block) => block.slice("data:".length).trimStart());
    return { events };
  }
  completionCounter += 1;
  const base = {
    id: `chatcmpl-standin${completionCounter}`,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    system_fingerprint: "fp_standin",
  };
  const choice = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  const events: string[] = [];
  let completionText = "";
  let finishReason: string;
  if (reply.kind === "text") {
    events.push(choice({ role: "assistant", content: "", refusal: null }));
    for (const piece of splitIntoDeltas(reply.text, reply.deltas ?? 4))
      events.push(choice({ content: piece }));
    completionText = reply.text;
    finishReason = reply.finishReason ?? "stop";
    if (!reply.omitFinish) events.push(choice({}, finishReason));
  } else {
    events.push(choice({ role: "assistant", content: reply.text ?? null }));
    reply.calls.forEach((call, index) => {
      const id = call.id ?? `call_standin${completionCounter}_${index}`;
      events.push(
        choice({
          tool_calls: [{ index, id, type: "function", function: { name: call.name, arguments: "" } }],
        }),
      );
      for (const fragment of fragments(call.arguments, 6)) {
        events.push(choice({ tool_calls: [{ index, function: { arguments: fragment } }] }));
      }
      completionText += call.name + call.arguments;
    });
    events.push(choice({}, "tool_calls"));
  }
  if (body.stream_options?.include_usage) {
    const promptTokens = approximateTokens(JSON.stringify(body.messages));
    const completionTokens = approximateTokens(completionText);
    events.push(
      JSON.stringify({
        ...base,
        choices: [],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
      }),
    );
  }
  events.push("[DONE]");
  return { events };
}

interface AssembledCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** Folds stream chunks into the ChatCompletion a non-streamed request would have returned. */
function assembleCompletion(events: string[], body: ChatRequestBody): Record<string, unknown> {
  let id = "";
  let model = body.model;
  let created = Math.floor(Date.now() / 1000);
  let content: string | null = null;
  let finishReason: string | null = null;
  let usage: Record<string, unknown> | undefined;
  const calls: AssembledCall[] = [];
  for (const event of events) {
    if (event === "[DONE]") continue;
    const chunk = JSON.parse(event) as {
      id: string;
      model: string;
      created: number;
      usage?: Record<string, unknown>;
      choices: Array<{
        delta: {
          content?: string | null;
          tool_calls?: Array<{
            index: number;
            id?: string;
            function?: { name?: string; arguments?: string };
          }>;
        };
        finish_reason: string | null;
      }>;
    };
    id = chunk.id;
    model = chunk.model;
    created = chunk.created;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (typeof choice.delta.content === "string") content = (content ?? "") + choice.delta.content;
      for (const delta of choice.delta.tool_calls ?? []) {
        const call = calls[delta.index] ?? {
          id: "",
          type: "function",
          function: { name: "", arguments: "" },
        };
        calls[delta.index] = call;
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.function.name += delta.function.name;
        if (delta.function?.arguments) call.function.arguments += delta.function.arguments;
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  }
  const promptTokens = approximateTokens(JSON.stringify(body.messages));
  const completionTokens = approximateTokens(content ?? JSON.stringify(calls));
  return {
    id,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content,
          refusal: null,
          annotations: [],
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason ?? "stop",
      },
    ],
    usage: usage ?? {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/**
 * Deterministic embeddings: a hashed bag of words (FNV-1a picks the slot, one hash bit the sign),
 * L2-normalised, so texts sharing words have a high cosine and identical texts a cosine of 1.
 */
export function hashedEmbedding(text: string, dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let hash = 0x811c9dc5;
    for (let index = 0; index < word.length; index += 1) {
      hash ^= word.charCodeAt(index);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    const slot = hash % dimension;
    vector[slot] = (vector[slot] ?? 0) + ((hash >>> 31) & 1 ? -1 : 1);
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  if (norm === 0) {
    vector[0] = 1;
    return vector;
  }
  return vector.map((value) => value / norm);
}

function float32Base64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString("base64");
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startOpenAiStandIn(options: OpenAiStandInOptions = {}): Promise<OpenAiStandIn> {
  const spec = validator();
  const requests: RecordedRequest[] = [];
  const violations: Violation[] = [];
  const servedChunks: string[] = [];
  const queue: StandInReply[] = [];
  const faults: Array<Required<Pick<Fault, "status" | "times">> & Fault> = [];
  const fineTuning = new FineTuningSimulator();
  const openResponses = new Set<AbortController>();
  let responder: Responder | undefined;
  const dimension = options.embeddingDimension ?? 64;
  const models = options.models ?? ["gpt-4o-mini", "text-embedding-3-small"];

  const checkResponse = (method: string, path: string, template: string | undefined, payload: unknown) => {
    if (!template || !spec.hasOperation(template, method)) return;
    const result = spec.validateResponseBody(template, method, "200", payload);
    if (!result.ok) violations.push({ direction: "response", method, path, errors: result.errors });
  };

  const recordedByResponse = new WeakMap<ServerResponse, RecordedRequest>();
  // Every status goes through here so the recorded request knows what it was answered with.
  const writeHead = (response: ServerResponse, status: number, headers: Record<string, string>) => {
    const recorded = recordedByResponse.get(response);
    if (recorded) recorded.status = status;
    response.writeHead(status, headers);
  };

  const sendJson = (response: ServerResponse, status: number, payload: unknown, headers = {}) => {
    writeHead(response, status, { "content-type": "application/json", ...headers });
    response.end(JSON.stringify(payload));
  };

  // Plays a cooperative model well enough for a demo: a request to rewrite a follow-up as a
  // standalone question gets the follow-up back (as a real model would for a self-contained one);
  // everything else is echoed.
  const defaultReply = (body: ChatRequestBody): StandInReply => {
    const text = lastUserText(body);
    const followUp = /\nLast message: ([^\n]*)$/.exec(text)?.[1];
    return { kind: "text", text: followUp ?? `Echo: ${text}` };
  };

  async function chooseReply(body: ChatRequestBody): Promise<StandInReply> {
    const queued = queue.shift();
    if (queued) return queued;
    if (responder) return responder(body);
    return defaultReply(body);
  }

  async function serveChat(
    response: ServerResponse,
    body: ChatRequestBody,
    signal: AbortSignal,
    template: string,
  ): Promise<void> {
    const reply = await chooseReply(body);
    const plan = buildChunks(reply, body);
    await sleep(reply.delayMs ?? 0, signal);
    if (signal.aborted) return;
    if (!body.stream) {
      const completion = assembleCompletion(plan.events, body);
      checkResponse("post", "/v1/chat/completions", template, completion);
      if (reply.cutAfterChunks !== undefined) {
        writeHead(response, 200, { "content-type": "application/json" });
        response.write(JSON.stringify(completion).slice(0, 20));
        response.socket?.destroy();
        return;
      }
      sendJson(response, 200, completion);
      return;
    }
    writeHead(response, 200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    response.flushHeaders();
    for (const [index, event] of plan.events.entries()) {
      if (reply.cutAfterChunks !== undefined && index >= reply.cutAfterChunks) {
        response.socket?.destroy();
        return;
      }
      if (index > 0) await sleep(reply.chunkDelayMs ?? 0, signal);
      if (signal.aborted) return;
      if (event !== "[DONE]" && reply.kind !== "raw") {
        servedChunks.push(event);
        const result = spec.validateSchema("CreateChatCompletionStreamResponse", JSON.parse(event));
        if (!result.ok) {
          violations.push({
            direction: "response",
            method: "POST",
            path: "/v1/chat/completions",
            errors: result.errors,
          });
        }
      }
      const written = new Promise<void>((resolve) => response.write(`data: ${event}\n\n`, () => resolve()));
      // Before a cut, the events already sent must leave the socket first, or destroy() drops them.
      if (reply.cutAfterChunks !== undefined && index + 1 >= reply.cutAfterChunks) await written;
    }
    response.end();
  }

  function serveEmbeddings(response: ServerResponse, body: Record<string, unknown>, template: string): void {
    const rawInput = body.input;
    const inputs: unknown[] =
      Array.isArray(rawInput) && typeof rawInput[0] !== "number" ? rawInput : [rawInput];
    const size = typeof body.dimensions === "number" ? body.dimensions : dimension;
    const base64 = body.encoding_format === "base64";
    let promptTokens = 0;
    const data = inputs.map((input, index) => {
      const text = Array.isArray(input) ? input.join(" ") : String(input);
      promptTokens += approximateTokens(text);
      const vector = hashedEmbedding(text, size);
      return { object: "embedding", index, embedding: base64 ? float32Base64(vector) : vector };
    });
    if (options.embeddingsOutOfOrder) data.reverse();
    const payload = {
      object: "list",
      data,
      model: String(body.model),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
    if (!base64) checkResponse("post", "/v1/embeddings", template, payload);
    sendJson(response, 200, payload);
  }

  async function serveFileUpload(
    request: IncomingMessage,
    raw: Buffer,
    response: ServerResponse,
    template: string,
    recorded: RecordedRequest,
  ): Promise<void> {
    // undici's Request parses multipart exactly as a real server would, boundary and all.
    const form = await new Request("http://stand-in/v1/files", {
      method: "POST",
      headers: { "content-type": String(request.headers["content-type"] ?? "") },
      body: raw,
    })
      .formData()
      .catch(() => {
        throw new HttpFailure(400, errorBody(400, "Could not parse multipart form.", "invalid_multipart"));
      });
    const fields: Record<string, unknown> = {};
    let content = "";
    let filename = "upload";
    for (const [name, value] of form.entries()) {
      if (typeof value === "string") fields[name] = value;
      else {
        fields[name] = `<binary ${value.size} bytes>`;
        content = await value.text();
        filename = value.name;
      }
    }
    recorded.body = fields;
    const result = spec.validateRequestBody(template, "post", fields, "multipart/form-data");
    if (!result.ok) {
      violations.push({ direction: "request", method: "POST", path: "/v1/files", errors: result.errors });
      throw new HttpFailure(400, errorBody(400, `Invalid request: ${result.errors}`, "spec_violation"));
    }
    if (serveFault("/v1/files", response)) return;
    const file = fineTuning.addFile(filename, String(fields.purpose), content);
    const payload = fineTuning.fileObject(file);
    checkResponse("post", "/v1/files", template, payload);
    sendJson(response, 200, payload);
  }

  function notFound(what: string): never {
    throw new HttpFailure(404, errorBody(404, `No such ${what}.`, "not_found"));
  }

  function serveFilesAndFineTuning(
    method: string,
    path: string,
    template: string,
    body: Record<string, unknown> | undefined,
    response: ServerResponse,
  ): void {
    const id = path.split("/")[path.startsWith("/v1/files") ? 3 : 4] ?? "";
    let payload: unknown;
    if (template === "/files" && method === "GET") {
      const files = fineTuning.listFiles().map((file) => fineTuning.fileObject(file));
      payload = {
        object: "list",
        data: files,
        first_id: String(files[0]?.id ?? ""),
        last_id: String(files.at(-1)?.id ?? ""),
        has_more: false,
      };
    } else if (template === "/files/{file_id}" && method === "GET") {
      const file = fineTuning.getFile(id) ?? notFound("file");
      payload = fineTuning.fileObject(file);
    } else if (template === "/files/{file_id}" && method === "DELETE") {
      if (!fineTuning.deleteFile(id)) notFound("file");
      payload = { id, object: "file", deleted: true };
    } else if (template === "/files/{file_id}/content" && method === "GET") {
      const file = fineTuning.getFile(id) ?? notFound("file");
      writeHead(response, 200, { "content-type": "application/octet-stream" });
      response.end(file.content);
      return;
    } else if (template === "/fine_tuning/jobs" && method === "POST") {
      const training = fineTuning.getFile(String(body?.training_file));
      if (!training) {
        throw new HttpFailure(
          400,
          errorBody(400, `Invalid file id: ${String(body?.training_file)}`, "invalid_file", "training_file"),
        );
      }
      payload = fineTuning.createJob(body ?? {});
    } else if (template === "/fine_tuning/jobs" && method === "GET") {
      payload = { object: "list", data: fineTuning.listJobs(), has_more: false };
    } else if (template === "/fine_tuning/jobs/{fine_tuning_job_id}" && method === "GET") {
      payload = fineTuning.pollJob(id) ?? notFound("fine-tuning job");
    } else if (template === "/fine_tuning/jobs/{fine_tuning_job_id}/events" && method === "GET") {
      payload = {
        object: "list",
        data: fineTuning.pollEvents(id) ?? notFound("fine-tuning job"),
        has_more: false,
      };
    } else if (template === "/fine_tuning/jobs/{fine_tuning_job_id}/cancel" && method === "POST") {
      payload = fineTuning.cancelJob(id) ?? notFound("fine-tuning job");
    } else if (template === "/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints" && method === "GET") {
      if (!fineTuning.hasJob(id)) notFound("fine-tuning job");
      payload = { object: "list", data: [], has_more: false, first_id: null, last_id: null };
    } else {
      throw new HttpFailure(404, errorBody(404, `Unknown route ${method} ${path}`, "unknown_url"));
    }
    checkResponse(method, path, template, payload);
    sendJson(response, 200, payload);
  }

  /** Answers with the next matching injected fault, if any. */
  function serveFault(path: string, response: ServerResponse): boolean {
    const faultIndex = faults.findIndex((fault) => fault.path === undefined || `/v1${fault.path}` === path);
    const fault = faults[faultIndex];
    if (!fault) return false;
    fault.times -= 1;
    if (fault.times <= 0) faults.splice(faultIndex, 1);
    const retryAfterMs = fault.retryAfterMs ?? 5;
    const body = fault.body ?? defaultFaultBody(fault.status);
    sendJson(
      response,
      fault.status,
      { error: { param: null, code: null, ...body } },
      { "retry-after-ms": String(retryAfterMs), "retry-after": String(Math.ceil(retryAfterMs / 1000)) },
    );
    return true;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? "GET").toUpperCase();
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const headers: Record<string, string | string[] | undefined> = { ...request.headers };
    const authorization = request.headers.authorization;
    delete headers.authorization;
    const recorded: RecordedRequest = {
      method,
      path,
      headers,
      hasAuthorization: authorization !== undefined,
      body: undefined,
      status: 0,
    };
    requests.push(recorded);
    const controller = new AbortController();
    openResponses.add(controller);
    response.on("close", () => {
      controller.abort();
      openResponses.delete(controller);
    });
    recordedByResponse.set(response, recorded);

    try {
      const raw = await readBody(request);
      const contentType = String(request.headers["content-type"] ?? "");
      const template = spec.matchPath(path);

      if (options.apiKey !== undefined && authorization !== `Bearer ${options.apiKey}`) {
        throw new HttpFailure(401, defaultFaultBody(401));
      }

      if (method === "GET" && path === "/v1/models") {
        if (serveFault(path, response)) return;
        sendJson(response, 200, {
          object: "list",
          data: models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "stand-in" })),
        });
        return;
      }
      if (!template || !spec.hasOperation(template, method)) {
        throw new HttpFailure(404, errorBody(404, `Unknown route ${method} ${path}`, "unknown_url"));
      }
      if (template === "/files" && method === "POST") {
        await serveFileUpload(request, raw, response, template, recorded);
        return;
      }

      let body: Record<string, unknown> | undefined;
      if (raw.length > 0) {
        if (!contentType.includes("application/json")) {
          throw new HttpFailure(400, errorBody(400, `Unsupported content type ${contentType}.`));
        }
        try {
          body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
        } catch {
          violations.push({ direction: "request", method, path, errors: "body is not JSON" });
          throw new HttpFailure(400, errorBody(400, "We could not parse the JSON body of your request."));
        }
        recorded.body = body;
      }
      if (method === "POST" && template !== "/fine_tuning/jobs/{fine_tuning_job_id}/cancel") {
        const result = spec.validateRequestBody(template, method, body);
        if (!result.ok) {
          violations.push({ direction: "request", method, path, errors: result.errors });
          throw new HttpFailure(400, errorBody(400, `Invalid request: ${result.errors}`, "spec_violation"));
        }
      }

      // Faults come after validation, so a request the test scripted to fail is still checked.
      if (serveFault(path, response)) return;
      if (template === "/chat/completions") {
        await serveChat(response, body as ChatRequestBody, controller.signal, template);
      } else if (template === "/embeddings") {
        serveEmbeddings(response, body ?? {}, template);
      } else {
        serveFilesAndFineTuning(method, path, template, body, response);
      }
    } catch (error) {
      if (response.headersSent) {
        response.socket?.destroy();
        return;
      }
      if (error instanceof HttpFailure) {
        sendJson(response, error.status, { error: error.errorBody });
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      sendJson(response, 500, { error: errorBody(500, `Stand-in failure: ${message}`) });
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    violations,
    servedChunks,
    fineTuning,
    chatRequests: () =>
      requests
        .filter((entry) => entry.path === "/v1/chat/completions" && entry.body !== undefined)
        .map((entry) => entry.body as ChatRequestBody),
    assertNoViolations() {
      if (violations.length > 0) {
        const lines = violations.map(
          (entry) => `${entry.direction} ${entry.method} ${entry.path}: ${entry.errors}`,
        );
        throw new Error(`OpenAI stand-in saw ${violations.length} spec violation(s):\n${lines.join("\n")}`);
      }
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    setResponder(next) {
      responder = next;
    },
    injectFault(fault) {
      faults.push({ ...fault, times: fault.times ?? 1 });
    },
    scriptFineTuning(script) {
      fineTuning.setScript(script);
    },
    async close() {
      for (const controller of openResponses) controller.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
