import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SPECS_DIR } from "../../support/openapi-validator.js";

/**
 * The Slack app manifests in `infra/slack/` must ask for exactly what the code uses: the events the
 * adapter listens to, its slash command, interactivity for its buttons, and the bot scopes of every
 * Web API method the Slack code calls (from Slack's own method docs in test/fixtures/specs). The
 * code is read as text, like the core-purity test reads imports, so a new call or listener without
 * its manifest line fails here.
 */

const ROOT = join(import.meta.dirname, "../../..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

interface Manifest {
  features: {
    app_home: {
      home_tab_enabled: boolean;
      messages_tab_enabled: boolean;
      messages_tab_read_only_enabled: boolean;
    };
    assistant_view?: { assistant_description: string };
    shortcuts?: Array<{ name: string; type: string; callback_id: string; description: string }>;
    bot_user: { display_name: string };
    slash_commands: Array<{ command: string; url?: string; should_escape: boolean }>;
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { request_url?: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url?: string };
    socket_mode_enabled: boolean;
  };
}

const manifests = {
  http: parse(read("infra/slack/manifest.http.yaml")) as Manifest,
  socket: parse(read("infra/slack/manifest.socket-mode.yaml")) as Manifest,
};

const slackSources = [
  ...readdirSync(join(ROOT, "src/adapters/slack"))
    .filter((file) => file.endsWith(".ts"))
    .map((file) => `src/adapters/slack/${file}`),
  "src/adapters/notifiers/slack-notifier.ts",
].map((path) => ({ path, text: read(path) }));
const adapter = read("src/adapters/slack/slack-platform-adapter.ts");
const allSlackCode = slackSources.map((source) => source.text).join("\n");

/** The events Bolt's `Assistant` (the Agents & AI Apps split view) listens to, besides message.im. */
const ASSISTANT_EVENTS = ["assistant_thread_context_changed", "assistant_thread_started"];

/** Which message events the `message` listener needs: DMs, and thread follow-ups in every kind of channel. */
const MESSAGE_EVENTS = ["message.channels", "message.groups", "message.im", "message.mpim"];

/** Event → the scope Slack requires to receive it (docs.slack.dev/reference/events/<event>). */
const EVENT_SCOPES: Record<string, string | null> = {
  app_mention: "app_mentions:read",
  app_home_opened: null,
  assistant_thread_started: "assistant:write",
  assistant_thread_context_changed: "assistant:write",
  "message.channels": "channels:history",
  "message.groups": "groups:history",
  "message.im": "im:history",
  "message.mpim": "mpim:history",
};

/** Methods the stored method docs do not cover, with the scope their docs page names. */
const OTHER_METHOD_SCOPES: Record<string, string[]> = {
  "chat.delete": ["chat:write"],
  "reactions.remove": ["reactions:write"],
};

/**
 * Methods whose docs accept one of several scopes, where the code needs more than one of them:
 * `conversations.info` must see private channels and DMs too, to keep their history in them.
 */
const CHOSEN_SCOPES: Record<string, string[]> = {
  "conversations.info": ["channels:read", "groups:read", "im:read", "mpim:read"],
};

function methodScopes(method: string): string[] | undefined {
  try {
    const document = JSON.parse(
      readFileSync(join(SPECS_DIR, "slack/method-metadata", `${method}.json`), "utf8"),
    ) as { scope?: { bot?: string[] }; no_scope_required?: boolean };
    return document.no_scope_required ? [] : (document.scope?.bot ?? []);
  } catch {
    return OTHER_METHOD_SCOPES[method];
  }
}

function calledMethods(): string[] {
  const methods = new Set<string>();
  for (const { text } of slackSources) {
    for (const match of text.matchAll(/\bclient\.((?:[a-z]+\.)+[a-zA-Z]+)\(/g)) methods.add(match[1] ?? "");
  }
  return [...methods].sort();
}

function usesAssistantView(): boolean {
  return /new Assistant\(/.test(allSlackCode) && /\.assistant\(/.test(adapter);
}

function listenedEvents(): string[] {
  const events = [...allSlackCode.matchAll(/\.event\("([a-z_]+)"/g)].map((match) => match[1] ?? "");
  if (usesAssistantView()) events.push(...ASSISTANT_EVENTS);
  return [...new Set(events.flatMap((event) => (event === "message" ? MESSAGE_EVENTS : [event])))].sort();
}

/** The message shortcuts' callback ids the code registers (`app.shortcut` with a `SHORTCUTS` entry). */
function shortcutCallbackIds(): string[] {
  const shortcuts = read("src/adapters/slack/slack-shortcuts.ts");
  const declared = /export const SHORTCUTS = \{([^}]*)\}/.exec(shortcuts)?.[1] ?? "";
  const ids = Object.fromEntries(
    [...declared.matchAll(/(\w+): "([\w-]+)"/g)].map((match) => [match[1] ?? "", match[2] ?? ""]),
  );
  return [...shortcuts.matchAll(/callback_id: SHORTCUTS\.(\w+) \}/g)]
    .map((match) => ids[match[1] ?? ""] ?? "")
    .sort();
}

function requiredScopes(): string[] {
  const scopes = new Set(
    listenedEvents().flatMap((event) => {
      const scope = EVENT_SCOPES[event];
      return scope === null ? [] : [scope ?? `unknown scope for ${event}`];
    }),
  );
  if (/\.command\(/.test(adapter)) scopes.add("commands");
  // Attachments for `index` are downloaded from url_private with the bot token.
  if (read("src/adapters/slack/slack-file-credentials.ts").includes("files.slack.com"))
    scopes.add("files:read");
  for (const method of calledMethods()) {
    const needed = methodScopes(method);
    if (needed === undefined) {
      scopes.add(`unknown scope for ${method}: add it to OTHER_METHOD_SCOPES from its docs page`);
    } else if (needed.length === 1) {
      scopes.add(needed[0] ?? "");
    }
    for (const scope of CHOSEN_SCOPES[method] ?? []) scopes.add(scope);
  }
  return [...scopes].sort();
}

describe("Slack app manifests (infra/slack)", () => {
  it("finds the adapter's calls and listeners (the scan itself works)", () => {
    expect(calledMethods()).toEqual(
      expect.arrayContaining([
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "conversations.replies",
        "users.info",
      ]),
    );
    expect(listenedEvents()).toEqual(
      expect.arrayContaining(["app_mention", "app_home_opened", ...ASSISTANT_EVENTS]),
    );
    expect(shortcutCallbackIds()).toHaveLength(3);
  });

  for (const [mode, manifest] of Object.entries(manifests)) {
    describe(`${mode} mode`, () => {
      it("subscribes to exactly the events the adapter listens to", () => {
        expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual(listenedEvents());
      });

      it("asks for exactly the bot scopes the code needs", () => {
        const granted = [...manifest.oauth_config.scopes.bot].sort();
        expect(granted).toEqual(requiredScopes());
        // Methods whose docs accept one of several scopes get at least one of them.
        for (const method of calledMethods()) {
          const needed = methodScopes(method) ?? [];
          if (needed.length > 1)
            expect(
              needed.some((scope) => granted.includes(scope)),
              method,
            ).toBe(true);
        }
      });

      it("registers the slash command and interactivity the adapter handles, and lets people DM it", () => {
        const command = /commandName \?\? "(\/[\w-]+)"/.exec(adapter)?.[1];
        expect(manifest.features.slash_commands.map((entry) => entry.command)).toEqual([command]);
        expect(manifest.features.slash_commands[0]?.should_escape).toBe(false);
        expect(/\.action\(\{ type: "block_actions" \}/.test(adapter)).toBe(true);
        expect(manifest.settings.interactivity.is_enabled).toBe(true);
        expect(manifest.features.app_home.messages_tab_enabled).toBe(true);
        expect(manifest.features.app_home.messages_tab_read_only_enabled).toBe(false);
      });

      it("turns on the App Home tab, the split view and the message shortcuts the code handles", () => {
        expect(manifest.features.app_home.home_tab_enabled).toBe(
          listenedEvents().includes("app_home_opened"),
        );
        expect(manifest.features.assistant_view !== undefined).toBe(usesAssistantView());
        const shortcuts = manifest.features.shortcuts ?? [];
        expect(shortcuts.map((shortcut) => shortcut.callback_id).sort()).toEqual(shortcutCallbackIds());
        for (const shortcut of shortcuts) {
          // Slack's manifest schema: a shortcut's name is at most 24 characters, its description 150.
          expect(shortcut.type).toBe("message");
          expect(shortcut.name.length).toBeLessThanOrEqual(24);
          expect(shortcut.description.length).toBeLessThanOrEqual(150);
        }
      });
    });
  }

  it("HTTP mode points every URL at the receiver's one endpoint; Socket Mode has none", () => {
    const endpoint = /endpoints: "([^"]+)"/.exec(adapter)?.[1];
    expect(endpoint).toBe("/slack/events");
    const http = manifests.http;
    expect(http.settings.socket_mode_enabled).toBe(false);
    for (const url of [
      http.settings.event_subscriptions.request_url,
      http.settings.interactivity.request_url,
      http.features.slash_commands[0]?.url,
    ]) {
      expect(new URL(url ?? "").pathname).toBe(endpoint);
    }
    const socket = manifests.socket;
    expect(socket.settings.socket_mode_enabled).toBe(true);
    expect(socket.settings.event_subscriptions.request_url).toBeUndefined();
    expect(socket.settings.interactivity.request_url).toBeUndefined();
    expect(socket.features.slash_commands[0]?.url).toBeUndefined();
  });
});
