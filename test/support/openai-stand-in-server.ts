import { parseArgs } from "node:util";
import { startOpenAiStandIn } from "./openai-stand-in.js";

/**
 * Runs the OpenAI stand-in on its own so people can try the bot without an endpoint:
 *   npx tsx test/support/openai-stand-in-server.ts --port 0
 *   OPENAI_BASE_URL=<printed url> OPENAI_API_KEY=anything npm run chat
 * It answers every chat with the deterministic echo responder and serves until killed.
 */
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    dimension: { type: "string", default: "64" },
  },
});

const port = Number(values.port);
const dimension = Number(values.dimension);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  process.exit(2);
}
if (!Number.isInteger(dimension) || dimension < 1) {
  console.error(`--dimension must be a positive integer, got "${values.dimension}"`);
  process.exit(2);
}

const standIn = await startOpenAiStandIn({ port, embeddingDimension: dimension });
console.log(standIn.baseUrl);

const stop = () => {
  for (const violation of standIn.violations) {
    console.error(
      `spec violation: ${violation.direction} ${violation.method} ${violation.path}: ${violation.errors}`,
    );
  }
  void standIn.close().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
