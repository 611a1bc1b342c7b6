import { GatewayIntentBits, OAuth2Scopes, PermissionFlagsBits, PermissionsBitField } from "discord.js";

/**
 * What the bot asks Discord for, in one place: the gateway intents the adapter connects with, and
 * the channel permissions and OAuth2 scopes of its invite link (`npm run discord:invite`). Each
 * permission says which call needs it, so the list stays exactly what the code uses (a test checks
 * the adapter's calls against it).
 */
export const DISCORD_GATEWAY_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  // Privileged: switch on "Message Content Intent" on the Developer Portal's Bot page.
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.DirectMessages,
] as const;

export const DISCORD_BOT_PERMISSIONS = {
  ViewChannel: "see the channels it is mentioned in",
  SendMessages: "answer mentions, show typing (channel.send, message.reply, sendTyping)",
  SendMessagesInThreads: "answer follow-ups inside threads",
  ReadMessageHistory:
    "read the thread and the replied-to message for context (messages.fetch, fetchReference)",
  EmbedLinks: "show sources as an embed (embeds)",
  AttachFiles: "send an answer too long for one message as answer.md (files)",
} as const satisfies Partial<Record<keyof typeof PermissionFlagsBits, string>>;

export const DISCORD_OAUTH_SCOPES = [OAuth2Scopes.Bot, OAuth2Scopes.ApplicationsCommands] as const;

/** The permissions integer of the invite link. */
function discordBotPermissions(): bigint {
  return PermissionsBitField.resolve(
    Object.keys(DISCORD_BOT_PERMISSIONS).map(
      (name) => PermissionFlagsBits[name as keyof typeof DISCORD_BOT_PERMISSIONS],
    ),
  );
}

/** The link a server admin opens to add the bot with exactly these permissions and scopes. */
export function discordInviteUrl(applicationId: string): string {
  const url = new URL("https://discord.com/oauth2/authorize");
  url.searchParams.set("client_id", applicationId);
  url.searchParams.set("permissions", discordBotPermissions().toString());
  url.searchParams.set("integration_type", "0");
  url.searchParams.set("scope", DISCORD_OAUTH_SCOPES.join(" "));
  return url.toString();
}
