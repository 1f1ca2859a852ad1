import { z } from 'zod';

/** The `binary` and `function` params of a uprobe program: what is probed, resolved by the loader at attach. */
export const uprobeTargetShape = {
  binary: z
    .string({ error: 'binary must be a string: a path, a shared library name or a program on PATH' })
    .min(1, 'binary must not be empty')
    .max(4096, 'binary must be at most 4096 characters'),
  function: z
    .string({ error: 'function must be a string' })
    .min(1, 'function must not be empty')
    .max(512, 'function must be at most 512 characters'),
};
