import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The deployment files shipped in infra/, checked by the tools that will read them.
const here = import.meta.dirname;
const scratch = mkdtempSync(join(tmpdir(), 'fleettrace-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('systemd unit of the daemon', () => {
  const unit = join(here, 'systemd', 'fleettrace-daemon.service');

  it('passes systemd-analyze verify', () => {
    const verified = run('systemd-analyze', ['verify', unit]);
    expect(verified.output).toBe('');
    expect(verified.status).toBe(0);
  });

  it('is hardened: a read-only system, only the capabilities BPF needs, writes only to its own directories', () => {
    const text = readFileSync(unit, 'utf8');
    const directive = (name: string) => text.match(new RegExp(`^${name}=(.*)$`, 'm'))?.[1];
    expect(directive('ProtectSystem')).toBe('strict');
    expect(directive('NoNewPrivileges')).toBe('yes');
    expect(directive('CapabilityBoundingSet')?.split(' ').sort()).toEqual(['CAP_BPF', 'CAP_DAC_READ_SEARCH', 'CAP_PERFMON', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_RESOURCE']);
    expect(directive('ReadWritePaths')?.split(' ')).toEqual(['/var/lib/fleettrace', '/var/cache/fleettrace']);
  });

  it('would be refused if it named a directive systemd does not know (the check has teeth)', () => {
    const broken = join(scratch, 'broken.service');
    writeFileSync(broken, readFileSync(unit, 'utf8').replace('NoNewPrivileges=yes', 'NoNewPrivilegez=yes'));
    // systemd only warns (exit 0): that is why the check above wants no output at all.
    expect(run('systemd-analyze', ['verify', broken]).output).toMatch(/Unknown key 'NoNewPrivilegez'/);
  });
});

describe('Prometheus configuration', () => {
  it('passes promtool check config, with the token and target files it names beside it', () => {
    copyFileSync(join(here, 'prometheus', 'prometheus.yml'), join(scratch, 'prometheus.yml'));
    writeFileSync(join(scratch, 'fleettrace-token'), 'token');
    writeFileSync(join(scratch, 'fleettrace-daemons.yml'), "- targets: ['web-1:9464']\n");
    const checked = run('promtool', ['check', 'config', join(scratch, 'prometheus.yml')]);
    expect(checked.output).toContain('SUCCESS');
    expect(checked.status).toBe(0);
  });
});
