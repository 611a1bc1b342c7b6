/**
 * A small MCP server for tests, spoken to over stdio: `node --import tsx test/support/mcp-test-server.ts`.
 * `add` is read-only, `write_note` writes (appends to the file named by MCP_TEST_NOTES_FILE so the test
 * can see whether it really ran), `delete_notes` is destructive, `fail` reports a tool error, and
 * `crash` kills the process mid-call so the client's reconnect can be tested. `lookup_ticket` returns a
 * ticket whose text a test may plant (MCP_TEST_TICKET_TEXT); `search_web` is read-only but open-world.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const notesFile = process.env.MCP_TEST_NOTES_FILE;
const server = new McpServer({ name: "teammate-test-server", version: "1.0.0" });

server.registerTool(
  "add",
  {
    description: "Adds two numbers.",
    inputSchema: { a: z.number(), b: z.number() },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
);

server.registerTool(
  "write_note",
  {
    description: "Writes a note.",
    inputSchema: { text: z.string() },
    annotations: { readOnlyHint: false, destructiveHint: false },
  },
  async ({ text }) => {
    if (notesFile) appendFileSync(notesFile, `${text}\n`);
    return { content: [{ type: "text", text: `noted: ${text} (pid ${process.pid})` }] };
  },
);

server.registerTool(
  "delete_notes",
  { description: "Deletes every note.", inputSchema: {}, annotations: { destructiveHint: true } },
  async () => {
    if (notesFile) writeFileSync(notesFile, "");
    return { content: [{ type: "text", text: "deleted" }] };
  },
);

server.registerTool("fail", { description: "Always fails.", inputSchema: {} }, async () => ({
  content: [{ type: "text", text: "the widget is jammed" }],
  isError: true,
}));

server.registerTool(
  "crash",
  {
    description: "Exits the server process.",
    inputSchema: {},
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async () => {
    process.exit(1);
  },
);

server.registerTool(
  "whoami",
  {
    description: "Returns the server's pid.",
    inputSchema: {},
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async () => ({ content: [{ type: "text", text: String(process.pid) }] }),
);

server.registerTool(
  "lookup_ticket",
  {
    description: "Reads a support ticket by id.",
    inputSchema: { id: z.string() },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  // The ticket text is whatever a customer wrote: MCP_TEST_TICKET_TEXT lets a test plant an injection.
  async ({ id }) => ({
    content: [
      { type: "text", text: `Ticket ${id}: ${process.env.MCP_TEST_TICKET_TEXT ?? "the printer is jammed."}` },
    ],
  }),
);

server.registerTool(
  "search_web",
  {
    description: "Searches the public web.",
    inputSchema: { query: z.string() },
    // Read-only but open-world: the query leaves for servers nobody here controls.
    annotations: { readOnlyHint: true },
  },
  async ({ query }) => ({ content: [{ type: "text", text: `no results for ${query}` }] }),
);

await server.connect(new StdioServerTransport());
