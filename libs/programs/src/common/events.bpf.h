/* Emitting a record into a program's ring buffer, counting the ones it had no room for. A full
 * ring buffer means user space fell behind; the kernel keeps no count of what it refused, so the
 * program does, in ft_lost_events, which the runner reads at the end of the run and reports as
 * the run's lostEvents (common/events.ts). */
#ifndef __FLEETTRACE_EVENTS_BPF_H
#define __FLEETTRACE_EVENTS_BPF_H

#include <bpf/bpf_helpers.h>

__u64 ft_lost_events = 0;

/* bpf_ringbuf_reserve, counting a refusal. Submit what it returns with bpf_ringbuf_submit. */
static __always_inline void *ft_event_reserve(void *ringbuf, __u64 size)
{
	void *record = bpf_ringbuf_reserve(ringbuf, size, 0);

	if (!record)
		__sync_fetch_and_add(&ft_lost_events, 1);
	return record;
}

/* bpf_ringbuf_output (a copy of a record built elsewhere), counting a refusal. */
static __always_inline void ft_event_output(void *ringbuf, void *record, __u64 size, __u64 flags)
{
	if (bpf_ringbuf_output(ringbuf, record, size, flags))
		__sync_fetch_and_add(&ft_lost_events, 1);
}

#endif
