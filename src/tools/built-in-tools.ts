import type { Retriever } from "../core/ports/knowledge.js";
import type { NoteStore } from "../core/ports/memory-store.js";
import type { Tool } from "../core/ports/tool.js";
import { createCalculatorTool } from "./calculator-tool.js";
import { createCurrentTimeTool } from "./current-time-tool.js";
import { createFetchUrlTool, type FetchDocument } from "./fetch-url-tool.js";
import { createRecallTool } from "./recall-tool.js";
import { createRememberTool } from "./remember-tool.js";
import { createSearchDocsTool } from "./search-docs-tool.js";

export interface BuiltInToolDependencies {
  retriever: Retriever;
  memory: Pick<NoteStore, "addNote" | "listNotes">;
  /** The SSRF-guarded document loader as a function; without it `fetch_url` is left out. */
  fetchDocument?: FetchDocument | undefined;
  now?: (() => Date) | undefined;
}

/** Every built-in tool the dependencies allow, ready for `ToolRegistry.register`. */
export function createBuiltInTools(dependencies: BuiltInToolDependencies): Tool[] {
  const tools: Tool[] = [
    createSearchDocsTool(dependencies.retriever),
    createRememberTool(dependencies.memory),
    createRecallTool(dependencies.memory),
    createCurrentTimeTool(dependencies.now),
    createCalculatorTool(),
  ];
  if (dependencies.fetchDocument) tools.push(createFetchUrlTool(dependencies.fetchDocument));
  return tools;
}
