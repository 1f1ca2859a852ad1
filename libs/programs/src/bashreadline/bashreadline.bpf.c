// SPDX-License-Identifier: GPL-2.0
/* bashreadline: every line an interactive bash reads, from a uretprobe on its readline(), after
 * the manner of libbpf-tools' bashreadline. Which bash (path) is chosen at attach time by the
 * manifest's attach plan. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "common/rate_limit.bpf.h"
#include "bashreadline/bashreadline.h"

/* Names struct bashreadline_event outside a function, so it is in the object's BTF where the layout
 * test reads it. Never read. */
struct bashreadline_event *const bashreadline_event_btf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("uretprobe")
int readline_return(struct pt_regs *ctx)
{
	const char *line = (const char *)PT_REGS_RC(ctx);
	struct bashreadline_event *e;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	char comm[FT_COMM_LEN];

	/* NULL: end of input, no line. */
	if (!line || !ft_tgid_matches(pid))
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	if (!ft_comm_matches(comm) || !ft_current_in_scope() || !ft_rate_allow())
		return 0;
	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	e->pid = pid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	__builtin_memcpy(e->comm, comm, sizeof(comm));
	if (bpf_probe_read_user_str(e->line, sizeof(e->line), line) < 0)
		e->line[0] = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
