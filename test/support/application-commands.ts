import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApplication } from "../../src/application.js";
import { loadConfig } from "../../src/config.js";
import type { Command } from "../../src/core/commands/command.js";
import { silentLogger } from "../../src/core/ports/logger.js";

/**
 * The whole application's command list, as the bot builds it (knowledge, sources, fine-tuning and
 * usage commands included), from an embedded application on a throwaway data directory.
 */
export async function applicationCommands(): Promise<readonly Command[]> {
  const directory = mkdtempSync(join(tmpdir(), "teammate-commands-"));
  const application = await createApplication(
    loadConfig({ DATA_DIR: directory, ENABLE_TOOLS: "false" }),
    silentLogger,
  );
  const commands = application.assistant.commands;
  await application.close();
  rmSync(directory, { recursive: true, force: true });
  return commands;
}
