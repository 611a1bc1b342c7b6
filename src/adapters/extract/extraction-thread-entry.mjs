// Worker threads start without the parent's TypeScript loader when the parent is a test runner (vitest
// transforms in-process and passes no loader to threads); `npm start` runs under tsx, whose loader threads
// inherit. So the thread loads its TypeScript body directly when it can, and registers tsx first when not.
// In the compiled build (dist/, what the container runs) the body is plain JavaScript next to this file.
import { workerData } from "piscina";

// The parent's token rank table (`ExtractionThreadData`), where core/tokens.ts looks for it when it loads
// (the key is its `HANDED_TABLE`): the thread then never loads nor builds the ranks itself.
if (workerData?.tokenizerTable) globalThis[Symbol.for("teammate.tokenizerTable")] = workerData.tokenizerTable;

let thread;
try {
  thread = await import("./extraction-thread.js");
} catch (error) {
  // Only the compiled body's own absence sends us to the TypeScript one; a missing dependency is real.
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("extraction-thread.js"))
    throw error;
}
try {
  thread ??= await import("./extraction-thread.ts");
} catch (error) {
  if (error?.code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
  const { register } = await import("tsx/esm/api");
  register();
  // A failed import stays cached under its URL, so the retry asks for the module under another one.
  thread = await import("./extraction-thread.ts?with-tsx");
}
export default thread.default;
