// What an agent of hosts does with Redis, whichever way it reaches them: takes the runs of a host's
// queue, listens for cancels, reports states, results and heartbeats to the results stream. The
// node daemon is the agent of its own host; the SSH gateway is the agent of the SSH hosts.
export { ControlRepository, type CancelHandler } from './control.repository';
export { ResultsRepository } from './results.repository';
export { RunQueueRepository, runJobProcessor, type RunHandler, type RefusalHandler } from './run-queue.repository';
export { DispatchVerifier, DispatchRefused, OLDER_API } from './dispatch-verifier';
export { Heartbeat } from './heartbeat';
