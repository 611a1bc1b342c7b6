import { InProcessJobQueue } from "../../src/adapters/in-process/in-process-job-queue.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { type ContractJobs, describeJobQueueContract } from "../contracts/job-queue.contract.js";

describeJobQueueContract("in-process", async () => ({
  queue: new InProcessJobQueue<ContractJobs>({ logger: silentLogger }),
  cleanup: async () => {},
}));
