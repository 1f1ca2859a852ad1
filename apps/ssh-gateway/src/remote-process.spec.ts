import { execFileSync, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@fleettrace/infra/stack';
import { ANNOUNCE_PROCESS, KILL_GROUP_SCRIPT, parseAnnouncement, type RemoteProcessId } from './remote-process';

// The two scripts run by this machine's own sh, as a host's would run them: no SSH in between.
/** Whether a process (pid > 0) or a process group (-pgid) still has a member: signal 0 probes without signalling. */
const exists = (target: number): boolean => {
  try {
    process.kill(target, 0);
    return true;
  } catch {
    return false;
  }
};

/** A process group of a shell and its sleep, started as a run's command is: announced, then exec'd. */
async function announcedGroup(): Promise<{ id: RemoteProcessId; child: ReturnType<typeof spawn> }> {
  const child = spawn('sh', ['-c', `${ANNOUNCE_PROCESS} && sleep 60 & wait`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  return { id: parseAnnouncement(line)!, child };
}

const killGroup = (id: RemoteProcessId, startTicks = id.startTicks): string =>
  execFileSync('sh', ['-c', KILL_GROUP_SCRIPT, 'fleettrace-kill', String(id.pid), String(id.pgid), startTicks], { encoding: 'utf8' }).trim();

describe('a process on a host, announced and killed there', () => {
  it('parses only a whole announcement', () => {
    expect(parseAnnouncement('fleettrace-process 12 10 4242\n')).toEqual({ pid: 12, pgid: 10, startTicks: '4242' });
    expect(parseAnnouncement('{"type":"ready"}')).toBeUndefined();
    expect(parseAnnouncement('fleettrace-process 12 10')).toBeUndefined();
  });

  it('the announcement names the shell that runs it: its pid, process group and start time as /proc has them', async () => {
    const { id, child } = await announcedGroup();
    try {
      expect(id.pid).toBe(child.pid);
      // detached: the shell leads a group of its own.
      expect(id.pgid).toBe(child.pid);
      const stat = execFileSync('cat', [`/proc/${child.pid}/stat`], { encoding: 'utf8' });
      expect(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]).toBe(id.startTicks);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
    }
  });

  it('kills the whole group, though stopped, and leaves a process whose start time is not the announced one alone', async () => {
    const { id, child } = await announcedGroup();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-id.pgid, 'SIGSTOP');
      expect(killGroup(id, String(Number(id.startTicks) + 1))).toBe('gone');
      expect(exists(id.pid)).toBe(true);
      expect(killGroup(id)).toBe('killed');
      await exited;
      // Every member of the group went (the sleep too, once init reaped it): signal 0 to the group finds none.
      await waitFor(`no process left in group ${id.pgid}`, async () => !exists(-id.pgid), 5_000, 20);
      expect(killGroup(id)).toBe('gone');
    } finally {
      if (exists(id.pid)) process.kill(-id.pgid, 'SIGKILL');
    }
  });
});
