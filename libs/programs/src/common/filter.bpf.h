/* The kernel-side filter every catalog program applies before it records anything: the daemon's
 * cgroup scope (a subtree), then the job's optional pid and comm. Parameters are rodata, so the
 * verifier prunes every check whose parameter is unset. Set from TypeScript by common/filter.ts.
 * Programs combine the pieces in the order cheapest for their event; execsnoop, for one, checks
 * comm only on exec's exit, once it names the new program. */
#ifndef __FLEETTRACE_FILTER_BPF_H
#define __FLEETTRACE_FILTER_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "common/types.h"

/* How many cgroup levels are walked up from a task looking for the filter cgroup. Real hierarchies
 * (systemd slices, Kubernetes pods) are well under 10 deep; a task more than this many levels below
 * the filter cgroup is not matched. */
#define FT_MAX_CGROUP_DEPTH 32

/* cgroup-v2 id (kernfs inode) whose subtree is traced; 0 traces the whole host. */
const volatile __u64 filter_cgroup_id = 0;
/* Process (tgid) traced; 0 traces every process. */
const volatile __u32 filter_tgid = 0;
/* Bytes of filter_comm compared; 0 disables the comm filter. Includes the NUL for an exact
 * match, excludes it for a prefix match. */
const volatile __u32 filter_comm_len = 0;
const volatile char filter_comm[FT_COMM_LEN] = {};

/* True when cgrp is the filter cgroup or one of its descendants. */
static __always_inline bool ft_cgroup_in_subtree(struct cgroup *cgrp)
{
	for (int depth = 0; depth < FT_MAX_CGROUP_DEPTH; depth++) {
		if (!cgrp)
			return false;
		if (BPF_CORE_READ(cgrp, kn, id) == filter_cgroup_id)
			return true;
		/* A cgroup's own css points at its parent's css, whose ->cgroup is the parent cgroup;
		 * the root's parent is NULL. */
		cgrp = BPF_CORE_READ(cgrp, self.parent, cgroup);
	}
	return false;
}

/* dfl_cgrp is the task's cgroup in the v2 hierarchy, the one cgroup ids refer to, also on hosts
 * that mount v1 controllers beside it. */
static __always_inline bool ft_task_in_scope(struct task_struct *task)
{
	return ft_cgroup_in_subtree(BPF_CORE_READ(task, cgroups, dfl_cgrp));
}

static __always_inline bool ft_tgid_matches(__u32 tgid)
{
	return !filter_tgid || tgid == filter_tgid;
}

/* True when no comm filter is set, or comm equals (or starts with) filter_comm. */
static __always_inline bool ft_comm_matches(const char comm[FT_COMM_LEN])
{
	for (int i = 0; i < FT_COMM_LEN; i++) {
		if (i >= filter_comm_len)
			break;
		if (comm[i] != filter_comm[i])
			return false;
	}
	return true;
}

/* The filter applied to an arbitrary task, e.g. the task being woken up, which is not current. */
static __always_inline bool ft_filter_task(struct task_struct *task)
{
	if (!ft_tgid_matches(BPF_CORE_READ(task, tgid)))
		return false;
	if (filter_comm_len) {
		char comm[FT_COMM_LEN];

		BPF_CORE_READ_STR_INTO(&comm, task, comm);
		if (!ft_comm_matches(comm))
			return false;
	}
	return !filter_cgroup_id || ft_task_in_scope(task);
}

/* The cgroup part of the filter for current: tasks directly in the filter cgroup answer from one
 * helper call; only the others pay for the walk up the hierarchy. */
static __always_inline bool ft_current_in_scope(void)
{
	if (!filter_cgroup_id || bpf_get_current_cgroup_id() == filter_cgroup_id)
		return true;
	return ft_task_in_scope((struct task_struct *)bpf_get_current_task());
}

/* The whole filter for current, for programs that record what current does (opens, calls):
 * pid first (free), comm only when filtered on, the cgroup walk last. */
static __always_inline bool ft_filter_current(__u32 tgid)
{
	if (!ft_tgid_matches(tgid))
		return false;
	if (filter_comm_len) {
		char comm[FT_COMM_LEN];

		bpf_get_current_comm(&comm, sizeof(comm));
		if (!ft_comm_matches(comm))
			return false;
	}
	return ft_current_in_scope();
}

#endif
