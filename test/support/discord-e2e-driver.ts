import type { DiscordStandIn } from "./discord-stand-in.js";

const EPHEMERAL = 1 << 6;

export interface SlashCommandOptions {
  name: string;
  options?: unknown[];
  userId?: string;
  permissions?: bigint;
  /** Resolved attachments, keyed by id, for attachment options. */
  attachments?: Record<string, unknown>;
  /** What the final `@original` edit must say; the command is done when it does. */
  expect: RegExp;
}

/**
 * Sends a slash command through the Discord stand-in's gateway and waits for the bot to edit
 * `@original` with the expected text. Returns the acknowledgement, that text, and whether the reply
 * was ephemeral (the flag is set on the deferral).
 */
export async function runSlashCommand(discord: DiscordStandIn, command: SlashCommandOptions) {
  const interaction = discord.slashCommand({
    name: command.name,
    options: command.options ?? [],
    ...(command.userId === undefined ? {} : { userId: command.userId }),
    ...(command.permissions === undefined ? {} : { permissions: command.permissions }),
    ...(command.attachments === undefined ? {} : { attachments: command.attachments }),
  });
  discord.dispatchInteraction(interaction);
  const callback = await discord.waitForRequest((request) =>
    request.path.startsWith(`/interactions/${interaction.id}/`),
  );
  const original = `/webhooks/${discord.applicationId}/${interaction.token}/messages/@original`;
  const final = await discord.waitForRequest(
    (request) =>
      request.method === "PATCH" &&
      request.path === original &&
      command.expect.test(String((request.body as { content?: string }).content)),
    20_000,
  );
  const flags = Number((callback.body as { data?: { flags?: number } }).data?.flags ?? 0);
  return {
    callback,
    flags,
    ephemeral: (flags & EPHEMERAL) !== 0,
    content: String((final.body as { content?: string }).content),
    /** The final edit's whole body: content, embeds (the sources), components. */
    body: final.body,
  };
}
