/**
 * `npm run discord:invite`: prints the link that adds the bot to a Discord server with exactly the
 * permissions and scopes it needs, and the intents to switch on. Reads DISCORD_APPLICATION_ID from
 * the environment or `.env`.
 */
import {
  DISCORD_BOT_PERMISSIONS,
  DISCORD_OAUTH_SCOPES,
  discordInviteUrl,
} from "./adapters/discord/discord-bot-setup.js";
import { loadConfigOrExit } from "./process-lifecycle.js";

const config = loadConfigOrExit();
if (!config.DISCORD_APPLICATION_ID) {
  process.stderr.write(
    "DISCORD_APPLICATION_ID is not set: copy the Application ID from your app's General Information page on the Discord Developer Portal into .env, then run this again.\n",
  );
  process.exit(1);
}
process.stdout.write(
  [
    discordInviteUrl(config.DISCORD_APPLICATION_ID),
    "",
    `Scopes: ${DISCORD_OAUTH_SCOPES.join(", ")}`,
    "Permissions:",
    ...Object.entries(DISCORD_BOT_PERMISSIONS).map(([name, why]) => `  ${name}: ${why}`),
    "Before starting the bot, switch on Message Content Intent (Bot → Privileged Gateway Intents).",
    "",
  ].join("\n"),
);
