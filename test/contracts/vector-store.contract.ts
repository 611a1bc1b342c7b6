/**
 * The behaviour every `VectorStore` must show, run against each implementation
 * (`runVectorStoreContract("sqlite", …)`, `runVectorStoreContract("qdrant", …)`).
 *
 * Dense vectors in this suite have `CONTRACT_DENSE_DIMENSIONS` dimensions; a store that needs the
 * dimension up front (Qdrant) must be created with it.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { analyze } from "../../src/core/knowledge/analyzer.js";
import { chunkId } from "../../src/core/knowledge/chunker.js";
import { countTerms } from "../../src/core/knowledge/sparse.js";
import type {
  ChunkRecord,
  CountedChunkRecord,
  DocumentScope,
  QueryScope,
  VectorStore,
} from "../../src/core/ports/vector-store.js";

export const CONTRACT_DENSE_DIMENSIONS = 4;

export interface VectorStoreUnderTest {
  store: VectorStore;
  cleanup(): Promise<void>;
}

interface TestDocument {
  documentId: string;
  title: string;
  scope: DocumentScope;
  texts: string[];
  dense?: number[][];
}

function records(document: TestDocument): ChunkRecord[] {
  return document.texts.map((text, position) => ({
    id: chunkId(document.documentId, position),
    documentId: document.documentId,
    position,
    title: document.title,
    headingPath: ["Section", `Part ${position}`],
    source: `docs/${document.documentId}.md`,
    text,
    scope: document.scope,
    terms: analyze(`${document.title}\nSection Part ${position}\n${text}`),
    dense: document.dense?.[position],
  }));
}

async function index(store: VectorStore, document: TestDocument): Promise<void> {
  await store.replaceDocument(document.documentId, document.scope, records(document));
}

function query(scope: QueryScope, text: string, limit = 10, dense?: number[]) {
  return { scope, terms: analyze(text), limit, dense };
}

const workspaceA: DocumentScope = { platform: "slack", workspaceId: "T-A" };
const channelA1: DocumentScope = { platform: "slack", workspaceId: "T-A", channelId: "C-A1" };
const askA1: QueryScope = { platform: "slack", workspaceId: "T-A", channelId: "C-A1" };
const askA2: QueryScope = { platform: "slack", workspaceId: "T-A", channelId: "C-A2" };
const askB1: QueryScope = { platform: "slack", workspaceId: "T-B", channelId: "C-A1" };
const askDiscordA1: QueryScope = { platform: "discord", workspaceId: "T-A", channelId: "C-A1" };

const filler: TestDocument = {
  documentId: "handbook",
  title: "Team handbook",
  scope: workspaceA,
  texts: [
    "Our office opens at nine. Lunch is served in the kitchen on the second floor.",
    "Holiday requests go through the people team two weeks in advance.",
    "The coffee machine is cleaned every Friday afternoon by whoever is on duty.",
  ],
};

export function runVectorStoreContract(name: string, createStore: () => Promise<VectorStoreUnderTest>): void {
  describe(`VectorStore contract: ${name}`, () => {
    let underTest: VectorStoreUnderTest;
    let store: VectorStore;

    beforeEach(async () => {
      underTest = await createStore();
      store = underTest.store;
    });

    afterEach(async () => {
      await underTest.cleanup();
    });

    it("ranks the chunk that matches the question first and returns its metadata", async () => {
      await index(store, filler);
      await index(store, {
        documentId: "deploy-guide",
        title: "Deployment guide",
        scope: workspaceA,
        texts: [
          "We deploy the billing service to the Kubernetes cluster with Helm charts.",
          "Rollbacks use the previous Helm release; page the on-call engineer first.",
        ],
      });

      const results = await store.search(query(askA1, "How do we deploy billing to Kubernetes?"));

      expect(results.length).toBeGreaterThan(0);
      const top = results[0]!;
      expect(top.chunk.documentId).toBe("deploy-guide");
      expect(top.chunk.position).toBe(0);
      expect(top.chunk.id).toBe(chunkId("deploy-guide", 0));
      expect(top.chunk.title).toBe("Deployment guide");
      expect(top.chunk.headingPath).toEqual(["Section", "Part 0"]);
      expect(top.chunk.source).toBe("docs/deploy-guide.md");
      expect(top.chunk.text).toContain("Kubernetes cluster");
      expect(top.chunk.scope.platform).toBe("slack");
      expect(top.chunk.scope.workspaceId).toBe("T-A");
      for (let rank = 1; rank < results.length; rank++) {
        expect(results[rank]!.score).toBeLessThanOrEqual(results[rank - 1]!.score);
      }
    });

    it("keeps a chunk's token count, so prompts need not encode its text again", async () => {
      const [counted, uncounted] = records({
        documentId: "counted",
        title: "Counted",
        scope: workspaceA,
        texts: ["The billing export runs nightly.", "The billing export has a retry."],
      });
      await store.replaceDocument("counted", workspaceA, [{ ...counted!, tokens: 7 }, uncounted!]);
      const results = await store.search(query(askA1, "billing export nightly retry"));
      const byPosition = new Map(results.map((result) => [result.chunk.position, result.chunk]));
      expect(byPosition.get(0)?.tokens).toBe(7);
      expect(byPosition.get(1)?.tokens).toBeUndefined();
    });

    it("ranks and scores a chunk whose terms come counted as it does the same chunk with its terms", async () => {
      const texts = [
        "We deploy the billing service to the Kubernetes cluster with Helm charts. Helm again.",
        "Rollbacks use the previous Helm release; page the on-call engineer first.",
      ];
      await index(store, filler);
      await index(store, { documentId: "as-terms", title: "Deployment guide", scope: workspaceA, texts });
      const counted: CountedChunkRecord[] = records({
        documentId: "as-counts",
        title: "Deployment guide",
        scope: workspaceA,
        texts,
      }).map(({ terms, ...chunk }) => ({ ...chunk, termCounts: countTerms(terms) }));
      await store.replaceDocument("as-counts", workspaceA, counted);

      const results = await store.search(query(askA1, "helm deploy billing rollback"));
      const scores = (documentId: string) =>
        results
          .filter((result) => result.chunk.documentId === documentId)
          .map((result) => [result.chunk.position, result.score, result.matchedTerms]);
      expect(scores("as-counts")).toHaveLength(2);
      expect(scores("as-counts")).toEqual(scores("as-terms"));
    });

    it("returns nothing for a question that shares no term with any chunk", async () => {
      await index(store, filler);
      expect(await store.search(query(askA1, "quantum chromodynamics lattice"))).toEqual([]);
    });

    it("honours the limit", async () => {
      await index(store, {
        documentId: "many",
        title: "Release notes",
        scope: workspaceA,
        texts: Array.from(
          { length: 8 },
          (_, position) => `Release ${position} fixed a crash in the exporter.`,
        ),
      });
      const results = await store.search(query(askA1, "exporter crash", 3));
      expect(results).toHaveLength(3);
    });

    it("leaves the chunk count unchanged when a document is indexed again, and drops stale chunks", async () => {
      await index(store, filler);
      await index(store, filler);
      const documents = await store.listDocuments(askA1);
      expect(documents).toHaveLength(1);
      expect(documents[0]!.chunkCount).toBe(3);
      expect(await store.search(query(askA1, "coffee machine", 10))).toHaveLength(1);

      await index(store, { ...filler, texts: ["The coffee machine moved to the third floor."] });
      const [summary] = await store.listDocuments(askA1);
      expect(summary?.chunkCount).toBe(1);
      expect(await store.search(query(askA1, "holiday requests"))).toEqual([]);
      const coffee = await store.search(query(askA1, "coffee machine"));
      expect(coffee.map((result) => result.chunk.text)).toEqual([
        "The coffee machine moved to the third floor.",
      ]);
    });

    it("replaces several documents in one call, across scopes, each as replaceDocument would", async () => {
      await index(store, filler);
      const notes: TestDocument = {
        documentId: "channel-notes",
        title: "Channel notes",
        scope: channelA1,
        texts: ["The standup moved to ten.", "Retro notes live in the wiki."],
      };
      const otherWorkspace: TestDocument = {
        documentId: "handbook",
        title: "Other handbook",
        scope: { platform: "slack", workspaceId: "T-B" },
        texts: ["The espresso machine is in the basement."],
      };
      await store.replaceDocuments([
        // The handbook shrinks to one chunk; named twice, its last replacement is what stays.
        { documentId: "handbook", scope: workspaceA, chunks: records({ ...filler, texts: ["Old text."] }) },
        { documentId: "channel-notes", scope: channelA1, chunks: records(notes) },
        {
          documentId: "handbook",
          scope: workspaceA,
          chunks: records({ ...filler, texts: [filler.texts[2]!] }),
        },
        { documentId: "handbook", scope: otherWorkspace.scope, chunks: records(otherWorkspace) },
      ]);

      const fromA1 = new Map(
        (await store.listDocuments(askA1)).map((summary) => [summary.documentId, summary]),
      );
      expect(fromA1.get("handbook")?.chunkCount).toBe(1);
      expect(fromA1.get("channel-notes")?.chunkCount).toBe(2);
      expect(await store.search(query(askA1, "holiday requests"))).toEqual([]);
      expect(await store.search(query(askA1, "old text"))).toEqual([]);
      expect((await store.search(query(askA1, "coffee machine"))).map((result) => result.chunk.text)).toEqual(
        [filler.texts[2]],
      );
      expect((await store.search(query(askA1, "standup"))).map((result) => result.chunk.documentId)).toEqual([
        "channel-notes",
      ]);
      expect(await store.search(query(askA2, "standup"))).toEqual([]);
      expect(
        (await store.search(query(askB1, "espresso machine"))).map((result) => result.chunk.text),
      ).toEqual(["The espresso machine is in the basement."]);
      expect(await store.search(query(askA1, "espresso"))).toEqual([]);
      await store.replaceDocuments([]);
      expect(await store.listDocuments(askA1)).toHaveLength(2);
    });

    it("deletes every chunk of a document, and only within the given workspace", async () => {
      await index(store, filler);
      await index(store, { ...filler, documentId: "other", title: "Other handbook" });

      expect(await store.deleteDocument({ platform: "slack", workspaceId: "T-B" }, "handbook")).toBe(0);
      expect(await store.deleteDocument({ platform: "discord", workspaceId: "T-A" }, "handbook")).toBe(0);
      expect(await store.deleteDocument({ platform: "slack", workspaceId: "T-A" }, "handbook")).toBe(3);

      const results = await store.search(query(askA1, "coffee machine holiday lunch office"));
      expect(results.length).toBeGreaterThan(0);
      expect(results.every((result) => result.chunk.documentId === "other")).toBe(true);
      expect((await store.listDocuments(askA1)).map((document) => document.documentId)).toEqual(["other"]);
      expect(await store.deleteDocument({ platform: "slack", workspaceId: "T-A" }, "handbook")).toBe(0);
    });

    it("never shows a workspace's or a channel's secret to another workspace or channel", async () => {
      await index(store, {
        documentId: "workspace-secret",
        title: "Vault",
        scope: workspaceA,
        texts: ["The launch password for workspace alpha is swordfish."],
      });
      await index(store, {
        documentId: "channel-secret",
        title: "Vault",
        scope: channelA1,
        texts: ["The launch password for channel one is marlin."],
      });
      const question = "What is the launch password?";

      const fromA1 = await store.search(query(askA1, question));
      expect(fromA1.map((result) => result.chunk.documentId).sort()).toEqual([
        "channel-secret",
        "workspace-secret",
      ]);
      const channelChunk = fromA1.find((result) => result.chunk.documentId === "channel-secret");
      expect(channelChunk?.chunk.scope.channelId).toBe("C-A1");

      const fromA2 = await store.search(query(askA2, question));
      expect(fromA2.map((result) => result.chunk.documentId)).toEqual(["workspace-secret"]);

      expect(await store.search(query(askB1, question))).toEqual([]);
      expect(await store.search(query(askB1, question, 10, [1, 0, 0, 0]))).toEqual([]);
      expect(await store.listDocuments(askB1)).toEqual([]);
      expect((await store.listDocuments(askA2)).map((document) => document.documentId)).toEqual([
        "workspace-secret",
      ]);
    });

    it("with channelDocumentsOnly (a guest from another organisation) shows the channel's documents and no workspace-wide one", async () => {
      await index(store, {
        documentId: "workspace-secret",
        title: "Vault",
        scope: workspaceA,
        texts: ["The launch password for workspace alpha is swordfish."],
      });
      await index(store, {
        documentId: "channel-notes",
        title: "Shared channel",
        scope: channelA1,
        texts: ["The launch checklist for the shared channel lives in the pinned message."],
      });
      const guest: QueryScope = { ...askA1, channelDocumentsOnly: true };
      const question = "launch password checklist";
      expect((await store.search(query(guest, question))).map((result) => result.chunk.documentId)).toEqual([
        "channel-notes",
      ]);
      expect(
        (await store.search(query(guest, question, 10, [1, 0, 0, 0]))).map(
          (result) => result.chunk.documentId,
        ),
      ).toEqual(["channel-notes"]);
      expect((await store.listDocuments(guest)).map((document) => document.documentId)).toEqual([
        "channel-notes",
      ]);
      expect(await store.listDocuments({ ...askA2, channelDocumentsOnly: true })).toEqual([]);
      expect(await store.hasChunks({ ...askA2, channelDocumentsOnly: true })).toBe(false);
      expect(await store.hasChunks(guest)).toBe(true);
      expect(await store.hasChunks(askA2)).toBe(true);
      // Members of the workspace still see both.
      expect((await store.listDocuments(askA1)).map((document) => document.documentId).sort()).toEqual([
        "channel-notes",
        "workspace-secret",
      ]);
    });

    it("keeps platforms apart even when workspace and channel ids coincide", async () => {
      await index(store, {
        documentId: "slack-only",
        title: "Slack note",
        scope: channelA1,
        texts: ["The standup moves to ten thirty on Tuesdays."],
      });
      expect(await store.search(query(askDiscordA1, "standup Tuesdays"))).toEqual([]);
      expect(await store.search(query(askDiscordA1, "standup Tuesdays", 10, [0, 1, 0, 0]))).toEqual([]);
      expect(await store.listDocuments(askDiscordA1)).toEqual([]);
      expect(await store.search(query(askA1, "standup Tuesdays"))).toHaveLength(1);
    });

    it("keeps the same document id in two workspaces apart", async () => {
      const text = ["Workspace A keeps its invoices in the blue folder."];
      await index(store, { ...filler, texts: text });
      await index(store, {
        ...filler,
        scope: { platform: "slack", workspaceId: "T-B" },
        texts: ["Workspace B keeps its invoices in the red folder."],
      });
      const fromA = await store.search(query(askA1, "invoices folder"));
      expect(fromA.map((result) => result.chunk.text)).toEqual(text);
      expect((await store.listDocuments(askA1))[0]?.chunkCount).toBe(1);
      expect(await store.deleteDocument({ platform: "slack", workspaceId: "T-B" }, "handbook")).toBe(1);
      expect(await store.search(query(askA1, "invoices folder"))).toHaveLength(1);
    });

    it("says whether any chunk is visible from a scope, within workspace, channel and platform", async () => {
      expect(await store.hasChunks(askA1)).toBe(false);
      await index(store, {
        documentId: "channel-notes",
        title: "Channel notes",
        scope: channelA1,
        texts: ["First note."],
      });
      expect(await store.hasChunks(askA1)).toBe(true);
      expect(await store.hasChunks(askA2)).toBe(false);
      expect(await store.hasChunks(askB1)).toBe(false);
      expect(await store.hasChunks(askDiscordA1)).toBe(false);
      await index(store, filler);
      expect(await store.hasChunks(askA2)).toBe(true);
      await store.deleteDocument(workspaceA, "handbook");
      await store.deleteDocument(workspaceA, "channel-notes");
      expect(await store.hasChunks(askA1)).toBe(false);
      expect(await store.hasChunks(askA2)).toBe(false);
    });

    it("lists the visible documents with their chunk counts", async () => {
      await index(store, filler);
      await index(store, {
        documentId: "channel-notes",
        title: "Channel notes",
        scope: channelA1,
        texts: ["First note.", "Second note."],
      });
      const fromA1 = await store.listDocuments(askA1);
      const byId = new Map(fromA1.map((document) => [document.documentId, document]));
      expect(byId.get("handbook")).toMatchObject({
        title: "Team handbook",
        source: "docs/handbook.md",
        chunkCount: 3,
        scope: { platform: "slack", workspaceId: "T-A" },
      });
      expect(byId.get("handbook")?.scope.channelId).toBeUndefined();
      expect(byId.get("channel-notes")).toMatchObject({
        chunkCount: 2,
        scope: { platform: "slack", workspaceId: "T-A", channelId: "C-A1" },
      });
      expect((await store.listDocuments(askA2)).map((document) => document.documentId)).toEqual(["handbook"]);
    });

    it("fuses dense and BM25 results when the query has a dense vector", async () => {
      await index(store, {
        documentId: "dense-doc",
        title: "Onboarding",
        scope: workspaceA,
        texts: [
          "New hires receive a laptop on their first day.",
          "Payroll runs on the last working day of the month.",
          "Expense reports need a receipt photo.",
        ],
        dense: [
          [1, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 0.6, 0.8],
        ],
      });

      // No shared term with any chunk: only the dense side can find the payroll chunk.
      const denseOnly = await store.search(query(askA1, "salary schedule", 10, [0.1, 0.99, 0, 0]));
      expect(denseOnly.length).toBeGreaterThan(0);
      expect(denseOnly[0]!.chunk.position).toBe(1);

      // BM25 prefers the expense chunk, dense prefers the laptop chunk: both appear in the fusion.
      const fused = await store.search(query(askA1, "expense receipt", 2, [1, 0, 0, 0]));
      expect(fused.map((result) => result.chunk.position).sort()).toEqual([0, 2]);

      // Without a dense vector, the same store answers from BM25 alone.
      const sparseOnly = await store.search(query(askA1, "salary schedule"));
      expect(sparseOnly).toEqual([]);
    });
  });
}
