import type { Config } from "./config.js";

/**
 * One sentence per chat platform that is configured only in part: which variable it still lacks and
 * where that value comes from. A platform with none of its variables set is simply off and says
 * nothing; one with all of them set starts.
 */
export function halfConfiguredPlatforms(config: Config): string[] {
  const problems: string[] = [];
  const slackSet = [
    config.SLACK_BOT_TOKEN && "SLACK_BOT_TOKEN",
    config.SLACK_SIGNING_SECRET && "SLACK_SIGNING_SECRET",
    config.SLACK_APP_TOKEN && "SLACK_APP_TOKEN",
  ].filter(Boolean);
  if (slackSet.length > 0) {
    if (!config.SLACK_BOT_TOKEN) {
      problems.push(
        `Slack is off: ${slackSet.join(" and ")} ${slackSet.length === 1 ? "is" : "are"} set but SLACK_BOT_TOKEN is not; copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page.`,
      );
    } else if (!config.SLACK_SIGNING_SECRET && !config.SLACK_APP_TOKEN) {
      problems.push(
        "Slack is off: SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode, from Basic Information → App Credentials) nor SLACK_APP_TOKEN (Socket Mode, an xapp-… token with connections:write from Basic Information → App-Level Tokens).",
      );
    }
  }
  if (config.DISCORD_TOKEN && !config.DISCORD_APPLICATION_ID) {
    problems.push(
      "Discord is off: DISCORD_TOKEN is set but DISCORD_APPLICATION_ID is not; copy the Application ID from the Developer Portal's General Information page.",
    );
  } else if (!config.DISCORD_TOKEN && config.DISCORD_APPLICATION_ID) {
    problems.push(
      "Discord is off: DISCORD_APPLICATION_ID is set but DISCORD_TOKEN is not; reset and copy the bot token on the Developer Portal's Bot page.",
    );
  }
  return problems;
}
