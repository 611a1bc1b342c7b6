/** What a question gets when no language model is configured. */
export const NO_LLM_MESSAGE =
  "I can't answer questions yet: no language model is configured. Set OPENAI_API_KEY (for OpenAI) or " +
  "OPENAI_BASE_URL (any OpenAI-compatible server; for Ollama use OPENAI_BASE_URL=http://localhost:11434/v1) " +
  "and LLM_MODEL, then start me again. Meanwhile `help`, `remember` and `memory show` work.";

export const NO_LLM_MESSAGE_SHORT =
  "That needs a language model, and none is configured: set OPENAI_API_KEY or OPENAI_BASE_URL (Ollama: http://localhost:11434/v1).";
