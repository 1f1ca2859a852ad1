/* The run's events-per-second cap, applied in the kernel before an event takes ring-buffer space:
 * at most ft_rate_limit_per_sec events pass in each one-second window (a window opens with the
 * first event after the previous one closed); the rest are dropped and counted in ft_rate_dropped,
 * which the runner reads at the end and reports. The daemon sets the cap on every object that
 * includes this header (common/rate-limit.ts); 0 disables it and the verifier prunes the check.
 *
 * One count for all CPUs, kept with atomic adds and no lock: two CPUs crossing a window's edge at
 * the same moment may both open a new window, and the count read after the add may include other
 * CPUs' adds, so a few events more or less than the cap may pass per window. Cheap (one ktime read
 * and one atomic add per event) and exact enough for a cap that protects the host. */
#ifndef __FLEETTRACE_RATE_LIMIT_BPF_H
#define __FLEETTRACE_RATE_LIMIT_BPF_H

#include <bpf/bpf_helpers.h>

#define FT_RATE_WINDOW_NS 1000000000ULL

const volatile __u32 ft_rate_limit_per_sec = 0;
__u64 ft_rate_window_start = 0;
__u64 ft_rate_window_count = 0;
__u64 ft_rate_dropped = 0;

/* True when the event may be emitted; false (and counted) when the cap drops it. */
static __always_inline bool ft_rate_allow(void)
{
	__u64 now;

	if (!ft_rate_limit_per_sec)
		return true;
	now = bpf_ktime_get_ns();
	if (now - ft_rate_window_start >= FT_RATE_WINDOW_NS) {
		ft_rate_window_start = now;
		ft_rate_window_count = 0;
	}
	/* A plain read after the add (not the add's return value) keeps this to BPF ISA v1 atomics. */
	__sync_fetch_and_add(&ft_rate_window_count, 1);
	if (ft_rate_window_count <= ft_rate_limit_per_sec)
		return true;
	__sync_fetch_and_add(&ft_rate_dropped, 1);
	return false;
}

#endif
