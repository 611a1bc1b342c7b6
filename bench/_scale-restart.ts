/**
 * The new process of `npm run bench -- scale`: `createApplication` on an existing DATA_DIR, one
 * question through the assistant, then one JSON line with the time of the answer and the RSS.
 * Arguments: data directory, OpenAI-compatible base URL (the bench's stand-in), question.
 */
import { createApplication } from "../src/application.js";
import { loadConfig } from "../src/config.js";
import { silentLogger } from "../src/core/ports/logger.js";
import { RecordingSink } from "../test/support/recording-sink.js";

const [dataDirectory, openAiBaseUrl, question] = process.argv.slice(2);
// Modules are loaded (tsx transpiles them) by the time this line runs.
const modulesLoadedAt = Date.now();
const cpuMilliseconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
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
const sink = new RecordingSink();
await application.assistant.handle(
  {
    platform: "local",
    workspaceId: "bench",
    channelId: "bench",
    userId: "U1",
    userName: "Ada",
    text: question ?? "What is known?",
    attachments: [],
    isAdmin: false,
    eventId: "restart-1",
  },
  sink,
);
const answeredAt = Date.now();
const answeredCpuMilliseconds = cpuMilliseconds();
if (sink.failed) throw new Error(`the first answer failed: ${sink.failed}`);
const rssMiB = process.memoryUsage().rss / 2 ** 20;
await application.close();
console.log(
  JSON.stringify({
    modulesLoadedAt,
    applicationReadyAt,
    answeredAt,
    rssMiB,
    sources: sink.finished?.sources.length ?? 0,
    cpuMilliseconds: answeredCpuMilliseconds,
    modulesCpuMilliseconds,
  }),
);
