import type { IncomingMessage, ServerResponse } from "node:http";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import { hasAdminToken, requireAdminToken } from "../http/admin-token.js";

export interface QueueDashboardOptions {
  queue: Queue;
  /** Where the board is mounted, e.g. `/admin/queues`; every path below it belongs to the board. */
  basePath: string;
  /** ADMIN_TOKEN: every request, page, asset and API call alike, must carry it. */
  token: string;
}

type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Board actions that write job data: adding a job and editing one. Job data decides which workspace
 * a job writes into and what it fetches, so it only ever comes from the bot's own code; retry,
 * promote, clean and remove stay available.
 */
// Case-insensitive and with an optional trailing slash, as Express matches routes by default.
const WRITES_JOB_DATA = [/^\/api\/queues\/[^/]+\/add\/?$/i, /^\/api\/queues\/[^/]+\/[^/]+\/update-data\/?$/i];

/**
 * Bull Board for the job queue: failed jobs with their errors and stack traces, retry, promote,
 * clean. Bull Board has no adapter for plain `node:http`, so its Express adapter (Express 5 is in the
 * tree already, through Bolt and the MCP SDK) serves as a request handler mounted under `basePath`
 * on whichever server the bot runs (Bolt's HTTPReceiver or the health server), behind the admin
 * token. Cost: `@bull-board/api`, `@bull-board/express` and the prebuilt UI, about 4 MB on disk,
 * loaded only when ADMIN_TOKEN and REDIS_URL are set.
 *
 * @see https://github.com/felixmosh/bull-board
 */
export function createQueueDashboard(options: QueueDashboardOptions): NodeHandler {
  const { basePath, token } = options;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    // Job data holds ids and references only (never secrets), so showing it to admins is safe.
    queues: [new BullMQAdapter(options.queue, { readOnlyMode: false, allowRetries: true })],
    serverAdapter,
    options: { uiConfig: { boardTitle: "teammate jobs" } },
  });
  const board = serverAdapter.getRouter() as NodeHandler;
  return (request, response) => {
    if (!hasAdminToken(request, token)) {
      requireAdminToken(response);
      return;
    }
    // The board's routes are relative to its mount point, as Express's own `app.use(basePath, …)` does.
    const url = request.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const rest = path.slice(basePath.length);
    const relative = rest.startsWith("/") ? rest : `/${rest}`;
    if (request.method !== "GET" && WRITES_JOB_DATA.some((pattern) => pattern.test(relative))) {
      response
        .writeHead(403, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "Adding or editing job data from the board is turned off." }));
      return;
    }
    request.url = `${relative}${queryAt === -1 ? "" : url.slice(queryAt)}`;
    board(request, response);
  };
}
