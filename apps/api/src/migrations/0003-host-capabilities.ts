/**
 * Each host's probed BPF capability report (libs/contracts CapabilityReport). Daemons send it only
 * now and then, so a heartbeat without one keeps the last report stored.
 */
export const hostCapabilities = `
ALTER TABLE hosts ADD COLUMN capabilities jsonb;
`;
