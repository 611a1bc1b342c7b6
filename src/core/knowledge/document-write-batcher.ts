import type { DocumentReplacement, VectorStore } from "../ports/vector-store.js";

interface Waiting {
  replacement: DocumentReplacement;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Chunks one `replaceDocuments` call takes at most: the embedded store holds the event loop while it writes. */
export const MAX_BATCH_CHUNKS = 256;

/**
 * Group commit for document writes: the writes asked for in one turn of the event loop (the lanes of a
 * folder or a source sync finishing together) go to the store as one `replaceDocuments` call, so the
 * embedded store pays one commit for them instead of one each. Each caller's promise settles when its
 * own document is stored, as with `replaceDocument`.
 *
 * A batch is cut at `maxBatchChunks` (a bigger document goes alone), which bounds how long one write
 * holds the event loop. A batch that fails is written again document by document, so each caller gets
 * its own outcome: one bad document (say, vectors of the wrong size) never fails its neighbours.
 */
export class DocumentWriteBatcher {
  private waiting: Waiting[] = [];
  private scheduled = false;
  /** The batches under way, one after the other: a document written twice ends as its last write. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<VectorStore, "replaceDocument" | "replaceDocuments">,
    private readonly maxBatchChunks = MAX_BATCH_CHUNKS,
  ) {}

  replace(replacement: DocumentReplacement): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ replacement, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // After the current turn, so that writes asked for by other lanes in it join the batch.
      setImmediate(() => {
        this.scheduled = false;
        // Emptied in place rather than replaced by a fresh []: a fresh array starts out holding small
        // integers only, and the optimized push met it as a new elements kind each batch ("not a Smi").
        const waiting = this.waiting.splice(0);
        this.writing = this.writing.then(() => this.flush(waiting));
      });
    });
  }

  /** Never rejects: every failure goes to the caller whose document it was. */
  private async flush(waiting: Waiting[]): Promise<void> {
    let batch: Waiting[] = [];
    let chunks = 0;
    for (const entry of waiting) {
      const size = entry.replacement.chunks.length;
      if (batch.length > 0 && chunks + size > this.maxBatchChunks) {
        await this.write(batch);
        // The embedded store writes synchronously: a turn of the event loop between two batches lets
        // chat through, so the wait is one batch long however many are queued.
        await new Promise<void>((resolve) => setImmediate(resolve));
        batch = [];
        chunks = 0;
      }
      batch.push(entry);
      chunks += size;
    }
    if (batch.length > 0) await this.write(batch);
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      if (batch.length === 1) {
        const { documentId, scope, chunks } = (batch[0] as Waiting).replacement;
        await this.store.replaceDocument(documentId, scope, chunks);
      } else {
        await this.store.replaceDocuments(batch.map((entry) => entry.replacement));
      }
    } catch (error) {
      if (batch.length === 1) {
        (batch[0] as Waiting).reject(error);
        return;
      }
      for (const entry of batch) await this.write([entry]);
      return;
    }
    for (const entry of batch) entry.resolve();
  }
}
