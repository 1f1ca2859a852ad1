// The bpftrace script an operator would write for each catalog program that has one (the whole
// host, no filter): after bpftrace's own tools, on tracepoints where those use kprobes (this
// project's hosts may have none). Programs left out: filelife (bpftrace's needs kprobes), xdpcount
// (bpftrace has no XDP), funccount and funclatency (they need a target chosen per run).
export const EQUIVALENTS: Readonly<Record<string, string>> = {
  syscount: 'tracepoint:raw_syscalls:sys_enter /args->id >= 0/ { @syscalls[args->id] = count(); @processes[pid, comm] = count(); }',
  // After tools/execsnoop.bt: the arguments joined (join() copies up to 16, as ours does), the result on exit.
  execsnoop:
    'tracepoint:syscalls:sys_enter_execve, tracepoint:syscalls:sys_enter_execveat ' +
    '{ printf("%d %d %d %s ", pid, curtask->real_parent->tgid, uid, str(args->filename)); join(args->argv); } ' +
    'tracepoint:syscalls:sys_exit_execve, tracepoint:syscalls:sys_exit_execveat { printf("%d %s %d\\n", pid, comm, args->ret); }',
  opensnoop:
    'tracepoint:syscalls:sys_enter_open, tracepoint:syscalls:sys_enter_openat { @path[tid] = args->filename; @flags[tid] = args->flags; } ' +
    'tracepoint:syscalls:sys_enter_openat2 { @path[tid] = args->filename; @flags[tid] = 0; } ' +
    'tracepoint:syscalls:sys_exit_open, tracepoint:syscalls:sys_exit_openat, tracepoint:syscalls:sys_exit_openat2 /@path[tid]/ ' +
    '{ printf("%d %s %d %d %d %s\\n", pid, comm, uid, @flags[tid], args->ret, str(@path[tid])); delete(@path[tid]); delete(@flags[tid]); }',
  exitsnoop:
    'tracepoint:sched:sched_process_exit /pid == tid/ { $t = curtask; ' +
    'printf("%d %d %s %d %d\\n", pid, $t->real_parent->tgid, comm, $t->exit_code, nsecs - $t->start_time); }',
  sigsnoop:
    'tracepoint:signal:signal_generate { printf("%d %s %d %s %d %d %d\\n", pid, comm, args->pid, args->comm, args->sig, args->code, args->result); }',
  // tools/runqlat.bt.
  runqlat:
    'tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; } ' +
    'tracepoint:sched:sched_switch { if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; } ' +
    '$ns = @qtime[args->next_pid]; if ($ns) { @usecs = hist((nsecs - $ns) / 1000); } delete(@qtime[args->next_pid]); }',
  tcpconnect:
    'tracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->newstate == 2/ ' +
    '{ printf("%d %s %d %s %s %d\\n", pid, comm, uid, ntop(args->saddr), ntop(args->daddr), args->dport); }',
  // After tools/tcplife.bt, on the tracepoint.
  tcplife:
    'tracepoint:sock:inet_sock_set_state /args->protocol == 6/ { $sk = args->skaddr; ' +
    'if (args->newstate < 4 && !@birth[$sk]) { @birth[$sk] = nsecs; @pid[$sk] = pid; @comm[$sk] = comm; } ' +
    'if (args->newstate == 7 && @birth[$sk]) { printf("%d %s %s %d %s %d %d\\n", @pid[$sk], @comm[$sk], ntop(args->saddr), args->sport, ' +
    'ntop(args->daddr), args->dport, (nsecs - @birth[$sk]) / 1000); delete(@birth[$sk]); delete(@pid[$sk]); delete(@comm[$sk]); } }',
  tcpretrans:
    'tracepoint:tcp:tcp_retransmit_skb { printf("%s %d %s %d %d\\n", ntop(args->saddr), args->sport, ntop(args->daddr), args->dport, args->state); }',
  biolatency:
    'tracepoint:block:block_rq_issue { @start[args->dev, args->sector] = nsecs; } ' +
    'tracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ ' +
    '{ @usecs = hist((nsecs - @start[args->dev, args->sector]) / 1000); delete(@start[args->dev, args->sector]); }',
  biosnoop:
    'tracepoint:block:block_io_start { @start[args->dev, args->sector] = nsecs; @pid[args->dev, args->sector] = pid; @comm[args->dev, args->sector] = comm; } ' +
    'tracepoint:block:block_rq_issue { @issue[args->dev, args->sector] = nsecs; } ' +
    'tracepoint:block:block_rq_complete /@issue[args->dev, args->sector]/ { $k_start = @start[args->dev, args->sector]; ' +
    'printf("%d %s %d %d %d %d %d\\n", @pid[args->dev, args->sector], @comm[args->dev, args->sector], args->dev, args->sector, ' +
    'args->nr_sector * 512, nsecs - @issue[args->dev, args->sector], args->error); ' +
    'delete(@start[args->dev, args->sector]); delete(@issue[args->dev, args->sector]); delete(@pid[args->dev, args->sector]); delete(@comm[args->dev, args->sector]); }',
  oomkill:
    'tracepoint:oom:mark_victim { printf("%d %d %d %d %d %d\\n", args->pid, args->uid, args->oom_score_adj, ' +
    'args->total_vm, args->anon_rss, args->file_rss); }',
  offcputime:
    'tracepoint:sched:sched_switch { @start[args->prev_pid] = nsecs; $s = @start[args->next_pid]; ' +
    'if ($s) { @us[args->next_comm, args->next_pid] = sum((nsecs - $s) / 1000); delete(@start[args->next_pid]); } }',
  profile: 'profile:hz:49 { @[pid, comm, kstack, ustack] = count(); }',
  bashreadline: 'uretprobe:/bin/bash:readline { printf("%d %d %s %s\\n", pid, uid, comm, str(retval)); }',
};
