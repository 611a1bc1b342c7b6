import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SPECS_DIR } from "./openapi-validator.js";

/**
 * The files and fine-tuning half of the OpenAI stand-in: an in-memory file store and fine-tuning jobs
 * that move through OpenAI's statuses one step per poll, so lifecycle tests are deterministic and need
 * no timers. Job and file objects start from the schema-valid fixtures in `test/fixtures/specs/openai/fixtures/`.
 */
export type FineTuningStatus =
  | "validating_files"
  | "queued"
  | "running"
  | "succeeded"
  | "failed"
  | "cancelled";

/** How the next created jobs end, and how many reads each intermediate status lasts. */
export interface FineTuningScript {
  outcome: "succeeded" | "failed";
  /** Reads (GET job, GET events) a job stays in each of validating_files, queued and running. Default 1. */
  pollsPerStatus?: number;
}

export interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  createdAt: number;
  content: string;
}

interface FineTuningEvent {
  object: "fine_tuning.job.event";
  id: string;
  created_at: number;
  level: "info" | "warn" | "error";
  message: string;
  type: "message" | "metrics";
  data: Record<string, unknown>;
}

interface Job {
  id: string;
  body: Record<string, unknown>;
  status: FineTuningStatus;
  outcome: "succeeded" | "failed";
  pollsPerStatus: number;
  pollsInStatus: number;
  createdAt: number;
  finishedAt: number | null;
  events: FineTuningEvent[];
}

const FIXTURES_DIR = join(SPECS_DIR, "openai/fixtures");
const jobTemplate = JSON.parse(
  readFileSync(join(FIXTURES_DIR, "fine_tuning.job.running.json"), "utf8"),
) as Record<string, unknown>;
const failedTemplate = JSON.parse(
  readFileSync(join(FIXTURES_DIR, "fine_tuning.job.failed.json"), "utf8"),
) as Record<string, unknown>;

const nextStatus: Partial<Record<FineTuningStatus, FineTuningStatus>> = {
  validating_files: "queued",
  queued: "running",
};

const isTerminal = (status: FineTuningStatus) =>
  status === "succeeded" || status === "failed" || status === "cancelled";

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class FineTuningSimulator {
  private readonly files = new Map<string, StoredFile>();
  private readonly jobs = new Map<string, Job>();
  private script: Required<FineTuningScript> = { outcome: "succeeded", pollsPerStatus: 1 };
  private counter = 0;

  setScript(script: FineTuningScript): void {
    this.script = { pollsPerStatus: 1, ...script };
  }

  addFile(filename: string, purpose: string, content: string): StoredFile {
    const file: StoredFile = {
      id: `file-${this.nextId()}`,
      filename,
      purpose,
      bytes: Buffer.byteLength(content),
      createdAt: nowSeconds(),
      content,
    };
    this.files.set(file.id, file);
    return file;
  }

  getFile(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  listFiles(): StoredFile[] {
    return [...this.files.values()];
  }

  deleteFile(id: string): boolean {
    return this.files.delete(id);
  }

  fileObject(file: StoredFile): Record<string, unknown> {
    return {
      id: file.id,
      object: "file",
      bytes: file.bytes,
      created_at: file.createdAt,
      filename: file.filename,
      purpose: file.purpose,
      status: "processed",
    };
  }

  createJob(body: Record<string, unknown>): Record<string, unknown> {
    const job: Job = {
      id: `ftjob-${this.nextId()}`,
      body,
      status: "validating_files",
      outcome: this.script.outcome,
      pollsPerStatus: this.script.pollsPerStatus,
      pollsInStatus: 0,
      createdAt: nowSeconds(),
      finishedAt: null,
      events: [],
    };
    this.addEvent(job, "info", `Created fine-tuning job: ${job.id}`);
    this.addEvent(job, "info", `Validating training file: ${String(body.training_file)}`);
    this.jobs.set(job.id, job);
    return this.jobObject(job);
  }

  hasJob(id: string): boolean {
    return this.jobs.has(id);
  }

  /** Reads a job, moving it one poll along its scripted progression first. */
  pollJob(id: string): Record<string, unknown> | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.advance(job);
    return this.jobObject(job);
  }

  listJobs(): Record<string, unknown>[] {
    return [...this.jobs.values()].reverse().map((job) => this.jobObject(job));
  }

  /** Events newest first, as OpenAI lists them. Reading events also advances the job. */
  pollEvents(id: string): FineTuningEvent[] | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.advance(job);
    return [...job.events].reverse();
  }

  cancelJob(id: string): Record<string, unknown> | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (!isTerminal(job.status)) {
      job.status = "cancelled";
      this.addEvent(job, "info", "Fine-tuning job cancelled");
    }
    return this.jobObject(job);
  }

  /** Moves a job straight to a status, for tests that care about one transition only. */
  forceStatus(id: string, status: FineTuningStatus): void {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`No fine-tuning job ${id}`);
    job.status = status;
    job.pollsInStatus = 0;
    if (isTerminal(status)) job.finishedAt = nowSeconds();
  }

  private advance(job: Job): void {
    if (isTerminal(job.status)) return;
    job.pollsInStatus += 1;
    if (job.pollsInStatus < job.pollsPerStatus) return;
    job.pollsInStatus = 0;
    const following = nextStatus[job.status];
    if (following) {
      job.status = following;
      if (following === "running") this.addEvent(job, "info", "Fine-tuning job started");
      else this.addEvent(job, "info", "Files validated, moving job to queued state");
      return;
    }
    job.finishedAt = nowSeconds();
    if (job.outcome === "failed") {
      job.status = "failed";
      this.addEvent(job, "error", "The job failed due to an invalid training file.");
      return;
    }
    this.addEvent(job, "info", "Step 3/3: training loss=0.42", "metrics", {
      step: 3,
      train_loss: 0.42,
      total_steps: 3,
    });
    job.status = "succeeded";
    this.addEvent(job, "info", `New fine-tuned model created: ${this.fineTunedModel(job)}`);
    this.addEvent(job, "info", "The job has successfully completed");
  }

  private fineTunedModel(job: Job): string {
    return `ft:${String(job.body.model)}:teammate::${job.id.replace("ftjob-", "")}`;
  }

  private jobObject(job: Job): Record<string, unknown> {
    const succeeded = job.status === "succeeded";
    const failed = job.status === "failed";
    return {
      ...jobTemplate,
      id: job.id,
      model: job.body.model,
      training_file: job.body.training_file,
      validation_file: job.body.validation_file ?? null,
      created_at: job.createdAt,
      status: job.status,
      finished_at: isTerminal(job.status) ? job.finishedAt : null,
      fine_tuned_model: succeeded ? this.fineTunedModel(job) : null,
      result_files: succeeded ? [`file-result-${job.id}`] : [],
      trained_tokens: succeeded ? 5768 : null,
      error: failed ? failedTemplate.error : null,
      estimated_finish: isTerminal(job.status) ? null : job.createdAt + 600,
      seed: typeof job.body.seed === "number" ? job.body.seed : jobTemplate.seed,
      metadata: job.body.metadata ?? null,
    };
  }

  private addEvent(
    job: Job,
    level: FineTuningEvent["level"],
    message: string,
    type: FineTuningEvent["type"] = "message",
    data: Record<string, unknown> = {},
  ): void {
    job.events.push({
      object: "fine_tuning.job.event",
      id: `ftevent-${this.nextId()}`,
      created_at: nowSeconds(),
      level,
      message,
      type,
      data,
    });
  }

  private nextId(): string {
    this.counter += 1;
    return `${this.counter.toString(36).padStart(6, "0")}`;
  }
}
