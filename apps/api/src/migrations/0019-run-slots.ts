/**
 * How many runs a host starts at once (HostInfo.runSlots, from its heartbeat): the rollout releases
 * no more runs into a host's queue than it has free slots (rollout.service.ts). Null for a host
 * that predates it: no limit.
 */
export const runSlots = `
ALTER TABLE hosts ADD COLUMN run_slots integer CHECK (run_slots > 0);
`;
