import { channelOf } from "../channel-of.js";
import { hasAdminRights } from "../privileges.js";
import type { Command } from "./command.js";

const MAX_NOTE_CHARACTERS = 1_000;
const MAX_PERSONA_CHARACTERS = 4_000;

const helpCommand: Command = {
  name: "help",
  usage: "help",
  summary: "what I can do and the commands I know",
  adminOnly: false,
  arguments: "none",
  visibility: "asker",
  async run({ reply, services, message }) {
    const withoutLlm = services.llm === undefined;
    const lines = services
      .commands()
      .filter((command) => !command.adminOnly || message.isAdmin)
      .map(
        (command) =>
          `• \`${command.usage}\` — ${command.summary}${command.adminOnly ? " (admins)" : ""}${withoutLlm && command.needsLlm ? " — needs a language model" : ""}`,
      );
    await reply.say(
      [
        "I'm teammate. Ask me anything here: I answer from the team's indexed documents with sources, and I remember this conversation.",
        ...(withoutLlm
          ? [
              "",
              "No language model is configured yet: questions and the commands marked below need one (set OPENAI_API_KEY or OPENAI_BASE_URL); the others work now.",
            ]
          : []),
        "",
        message.platform === "local"
          ? "To ask about a file, put `--file <path>` before the question (`--file notes.pdf what are the deadlines?`); I read it for that answer only and don't index it."
          : "Attach a PDF, text, Markdown, HTML or CSV file (or an image, if the model takes images) to a question and I read it for that answer only; `index` with the file attached adds it to the docs.",
        "",
        "Commands:",
        ...lines,
      ].join("\n"),
      "asker",
    );
  },
};

const askCommand: Command = {
  name: "ask",
  usage: "ask <question>",
  parameters: [
    { name: "question", description: "What do you want to know?", required: true, maxLength: 2000 },
    {
      name: "attachment",
      description: "A file to read for this answer only (PDF, text, Markdown, HTML, CSV or an image)",
      type: "attachment",
    },
  ],
  needsLlm: true,
  summary: "ask a question (the same as just talking to me)",
  adminOnly: false,
  arguments: "required",
  visibility: "everyone",
  usesLlm: true,
  async run({ message, args, reply, services }) {
    await services.answer(message, args, reply);
  },
};

const memoryShowCommand: Command = {
  name: "memory show",
  usage: "memory show",
  summary: "what I remember here: the conversation summary and the channel's notes",
  adminOnly: false,
  arguments: "none",
  visibility: "asker",
  async run({ message, reply, services }) {
    const [conversation, notes] = await Promise.all([
      services.store.loadConversation(message),
      services.store.listNotes(channelOf(message)),
    ]);
    const lines: string[] = [];
    lines.push(
      conversation.summary
        ? `**Summary of our earlier conversation:**\n${conversation.summary}`
        : "**Summary:** nothing folded yet.",
    );
    lines.push(`**Recent messages kept verbatim:** ${conversation.turns.length}`);
    lines.push(
      notes.length > 0
        ? `**Notes for this channel:**\n${notes.map((note) => `• \`${note.id}\` ${note.text} — ${note.authorName}`).join("\n")}`
        : "**Notes for this channel:** none. Add one with `remember <note>`.",
    );
    await reply.say(lines.join("\n\n"), "asker");
  },
};

const memoryForgetCommand: Command = {
  name: "memory forget",
  usage: "memory forget",
  summary: "forget this channel's conversations, summary and notes",
  // It erases what everyone in the channel said and noted, so it is not one member's call.
  adminOnly: true,
  arguments: "none",
  visibility: "everyone",
  async run({ message, reply, services }) {
    await services.store.forgetChannel(channelOf(message));
    await reply.say(
      `Done: I forgot this channel's conversations, summary and notes (asked by ${message.userName}).`,
    );
  },
};

const rememberCommand: Command = {
  name: "remember",
  usage: "remember <note>",
  parameters: [
    {
      name: "note",
      description: "What teammate should remember",
      required: true,
      maxLength: MAX_NOTE_CHARACTERS,
    },
  ],
  summary: "keep a note for this channel that I'll use in every answer",
  adminOnly: false,
  arguments: "required",
  visibility: "everyone",
  async run({ message, args, reply, services }) {
    const text = args.replace(/^that\s+/i, "").trim();
    if (text.length > MAX_NOTE_CHARACTERS) {
      await reply.say(
        `That note is too long (${text.length} characters); keep it under ${MAX_NOTE_CHARACTERS}.`,
        "asker",
      );
      return;
    }
    const note = await services.store.addNote(channelOf(message), {
      text,
      authorId: message.userId,
      authorName: message.userName,
      at: Date.now(),
    });
    await reply.say(`Noted (\`${note.id}\`): ${note.text}\nRemove it with \`forget-note ${note.id}\`.`);
  },
};

const forgetNoteCommand: Command = {
  name: "forget-note",
  usage: "forget-note <id>",
  parameters: [
    { name: "id", description: "The note's id, as shown by memory show", required: true, maxLength: 100 },
  ],
  summary: "remove one of your notes (ids are shown by `memory show`); admins may remove any",
  adminOnly: false,
  arguments: "required",
  visibility: "everyone",
  async run({ message, args, reply, services }) {
    const id = args.replace(/^`|`$/g, "");
    const channel = channelOf(message);
    const note = (await services.store.listNotes(channel)).find((candidate) => candidate.id === id);
    if (note && note.authorId !== message.userId && !(await hasAdminRights(message))) {
      await reply.say(
        `Note \`${id}\` is ${note.authorName}'s: only they, or an admin, can remove it.`,
        "asker",
      );
      return;
    }
    const removed = await services.store.deleteNote(channel, id);
    await reply.say(
      removed
        ? `Forgot note \`${id}\`.`
        : `There is no note \`${id}\` in this channel. \`memory show\` lists them.`,
      removed ? "everyone" : "asker",
    );
  },
};

const personaCommand: Command = {
  name: "persona",
  usage: "persona <text> | persona reset",
  parameters: [
    {
      name: "text",
      description: "How teammate should speak here, or `reset`; leave out to see the current one",
      long: true,
      maxLength: MAX_PERSONA_CHARACTERS,
    },
  ],
  summary: "set how I behave in this channel",
  adminOnly: true,
  arguments: "optional",
  visibility: "everyone",
  async run({ message, args, reply, services }) {
    const channel = channelOf(message);
    if (!args) {
      const settings = await services.store.getSettings(channel);
      await reply.say(
        settings.persona
          ? `This channel's persona:\n${settings.persona}`
          : "This channel uses the default persona.",
        "asker",
      );
      return;
    }
    if (args.length > MAX_PERSONA_CHARACTERS) {
      await reply.say(
        `That persona is too long; keep it under ${MAX_PERSONA_CHARACTERS} characters.`,
        "asker",
      );
      return;
    }
    const reset = args.toLowerCase() === "reset";
    await services.store.updateSettings(channel, { persona: reset ? "" : args });
    await reply.say(reset ? "Back to the default persona." : "Persona updated for this channel.");
  },
};

export const builtinCommands: readonly Command[] = [
  helpCommand,
  askCommand,
  memoryShowCommand,
  memoryForgetCommand,
  rememberCommand,
  forgetNoteCommand,
  personaCommand,
];
