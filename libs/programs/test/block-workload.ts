// A loop device over a file in /tmp, and O_DIRECT writes to it: block I/O a test starts and can count.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const WRITE_SIZE = 4096;

export interface LoopDevice {
  /** /dev/loopN */
  path: string;
  /** "7:N", as the disk param takes it. */
  disk: string;
  major: number;
  minor: number;
  /** Runs dd writing `count` synchronous 4 KiB O_DIRECT blocks to the device through `run`. */
  writeDirect(run: (command: string, args: string[]) => Promise<void>, count: number): Promise<void>;
  /** Detaches the device and deletes its file. */
  remove(): void;
}

export function createLoopDevice(name: string): LoopDevice {
  const dir = mkdtempSync(join(tmpdir(), `ft-${name}-`));
  const image = join(dir, 'disk.img');
  writeFileSync(image, '');
  truncateSync(image, 16 * 1024 * 1024);
  let path: string;
  try {
    path = execFileSync('losetup', ['--find', '--show', image]).toString().trim();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const rdev = statSync(path).rdev;
  // glibc's dev_t: major in bits 8-19, minor in bits 0-7 and 20-31.
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return {
    path,
    disk: `${major}:${minor}`,
    major,
    minor,
    writeDirect: (run, count) => run('dd', ['if=/dev/zero', `of=${path}`, `bs=${WRITE_SIZE}`, `count=${count}`, 'oflag=direct']),
    remove: () => {
      try {
        execFileSync('losetup', ['--detach', path]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
