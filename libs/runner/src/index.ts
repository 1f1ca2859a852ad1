// The run of one program on one host, for every program kind: the runner process and what starts it.
// The daemon, the CLI's local mode and the SSH gateway all run programs through this library; it is
// the only one that loads the native loader (libs/bpf-loader).
export * from './protocol';
export { launchRunner, warmRunnerLauncher, runnerEntry, remoteRunnerBundle, RUNNER_MAIN, type RemoteRunnerBundle, type RunnerEntry, type RunnerHandle, type RunnerOutcome } from './runner-process';
export { encodeLine, serveRunnerOverStdio, MAX_RUNS_PER_RUNNER, READY_LINE, STOP_LINE } from './stdio-serve';
export { serveRunner, executeRun, useCoreBtfCache, describeFailure } from './serve';
export { cacheDir, coreBtfCacheDir, stateDir } from './host-dirs';
export { attachPlanned } from './attach-plan';
export { RunJournal } from './run-journal';
export { RunExecutor, summarize, type RunsInProgress, type CancelledRuns, type CgroupScope, type ResultsSink, type RunnerLauncher } from './run-executor';
export { BPFTRACE_NOTIFY_PROBES_ATTACHED } from './bpftrace-output';
export { bpftraceAdapter, localBpftrace, PRINTF_TIME_FIELD, type BpftraceLauncher, type BpftraceProcess } from './bpftrace-run';
export { runSession, StartAllowanceError, UnsupportedProgramError, type RunAdapter } from './run-session';
export { OverheadGuard } from './overhead-guard';
export { probeHostCapabilities } from './capability-report';
export { kernelHooks, type KernelHookPaths } from './kernel-hooks';
export { programVerdicts } from './program-verdicts';
