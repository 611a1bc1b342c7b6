/**
 * The new process of `npm run bench -- scale`: `createApplication` on an existing DATA_DIR, one
 * question through the assistant, then one JSON line with the time of the answer, the CPU time and
 * the RSS. Plain JavaScript, so that the same script starts the application from the TypeScript
 * sources (`node --import tsx`, as `npm start` does) or from the compiled build (`node`, as the
 * container does).
 * Arguments: the folder holding `src/` (the repository or `dist`), data directory, OpenAI-compatible
 * base URL (the bench's stand-in), question.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [root = ".", dataDirectory, openAiBaseUrl, question] = process.argv.slice(2);
const from = (path) => import(pathToFileURL(join(root, "src", path)).href);
const [{ createApplication }, { loadConfig }, { silentLogger }] = await Promise.all([
  from("application.js"),
  from("config.js"),
  from("core/ports/logger.js"),
]);
const cpuMilliseconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
// Modules are loaded (and, under tsx, transpiled) by the time this line runs.
const modulesLoadedAt = Date.now();
const modulesCpuMilliseconds = cpuMilliseconds();
const application = await createApplication(
  loadConfig({
    DATA_DIR: dataDirectory,
    OPENAI_BASE_URL: openAiBaseUrl,
    OPENAI_API_KEY: "sk-bench",
    ENABLE_TOOLS: "false",
    LOG_LEVEL: "silent",
  }),
  silentLogger,
);
const applicationReadyAt = Date.now();
// The reply as a platform would render it: the text, the sources, or the failure sentence.
const reply = { text: "", sources: [], failed: undefined };
const sink = {
  async start() {},
  async status() {},
  async append(text) {
    reply.text += text;
  },
  async finish(result) {
    reply.sources = result.sources ?? [];
  },
  async fail(message) {
    reply.failed = message;
  },
};
await application.assistant.handle(
  {
    platform: "local",
    workspaceId: "bench",
    // A channel of its own (the documents are workspace-wide): a conversation another restart left
    // in the channel would turn this question into a follow-up.
    channelId: `bench-${process.pid}`,
    userId: "U1",
    userName: "Ada",
    text: question ?? "What is known?",
    attachments: [],
    isAdmin: false,
    // Unique per process: an event id already claimed in this DATA_DIR would be dropped as a re-delivery.
    eventId: `restart-${process.pid}`,
  },
  sink,
);
const answeredAt = Date.now();
const answeredCpuMilliseconds = cpuMilliseconds();
if (reply.failed) throw new Error(`the first answer failed: ${reply.failed}`);
const rssMiB = process.memoryUsage().rss / 2 ** 20;
await application.close();
console.log(
  JSON.stringify({
    modulesLoadedAt,
    applicationReadyAt,
    answeredAt,
    rssMiB,
    sources: reply.sources.length,
    cpuMilliseconds: answeredCpuMilliseconds,
    modulesCpuMilliseconds,
  }),
);
