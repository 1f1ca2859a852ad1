// Guest kernels in QEMU, for kernel features this host lacks. See infra/guest/prepare.sh.
export { guestUnavailableReason, GuestUnavailableError, prepareGuestKernel } from './prepare';
export type { GuestKernel } from './prepare';
export { commandScript, GuestRunError, lsmArgs, runInGuest } from './run-in-guest';
export type { GuestRunOptions, GuestRunResult, GuestTimings } from './run-in-guest';
export { runScriptInGuest, type GuestScriptRun } from './run-script-in-guest';
export { GUEST_RUNNER_ROOT, startSshGuest, stopSshGuest } from './ssh-guest';
export type { RunningSshGuest, SshGuestOptions } from './ssh-guest';
