import { channelOf } from "../channel-of.js";
import type { Suggestion, SuggestionContext } from "./command.js";

/** At most this many suggestions are offered at once (Discord shows 25). */
const MAX_SUGGESTIONS = 25;

/** The languages offered while typing `translate`; any other name still works when typed in full. */
const LANGUAGES = [
  "English",
  "Spanish",
  "French",
  "German",
  "Portuguese",
  "Italian",
  "Dutch",
  "Polish",
  "Ukrainian",
  "Russian",
  "Turkish",
  "Arabic",
  "Hebrew",
  "Hindi",
  "Bengali",
  "Indonesian",
  "Vietnamese",
  "Thai",
  "Japanese",
  "Korean",
  "Chinese (Simplified)",
  "Chinese (Traditional)",
  "Swedish",
  "Norwegian",
  "Danish",
  "Finnish",
  "Czech",
  "Greek",
  "Romanian",
  "Hungarian",
];

/** The suggestions whose value or label contain what was typed (case-insensitive), at most 25. */
export function matching(suggestions: readonly Suggestion[], partial: string): Suggestion[] {
  const typed = partial.trim().toLowerCase();
  const seen = new Set<string>();
  const found: Suggestion[] = [];
  for (const suggestion of suggestions) {
    if (seen.has(suggestion.value)) continue;
    if (
      typed &&
      !suggestion.value.toLowerCase().includes(typed) &&
      !suggestion.label.toLowerCase().includes(typed)
    )
      continue;
    seen.add(suggestion.value);
    found.push(suggestion);
    if (found.length === MAX_SUGGESTIONS) break;
  }
  return found;
}

export async function suggestLanguages({ partial }: SuggestionContext): Promise<readonly Suggestion[]> {
  return matching(
    LANGUAGES.map((language) => ({ label: language, value: language })),
    partial,
  );
}

/**
 * The models this channel can be switched to without guessing: the channel's current one and the
 * deployment's default. Fine-tuned models are added by the fine-tuning commands, which know them.
 */
export async function suggestModels({
  message,
  partial,
  services,
}: SuggestionContext): Promise<Suggestion[]> {
  const settings = await services.store.getSettings(channelOf(message));
  const models: Suggestion[] = [];
  if (settings.model) models.push({ label: `${settings.model} (this channel's)`, value: settings.model });
  const fallback = services.llm?.defaultModel;
  if (fallback) models.push({ label: `${fallback} (default)`, value: fallback });
  return matching(models, partial);
}
