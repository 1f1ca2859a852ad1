import type { CountsOutputSpec } from './manifest';

/**
 * The key fields of a stack-keyed counts output that root its folded stacks (comm): every shown
 * field but the stack ids and the pid, which mean nothing off the host. Empty for other outputs.
 */
export function stackRootFields(spec: CountsOutputSpec): string[] {
  if (!spec.stacks) return [];
  const { userStackField, kernelStackField, pidField } = spec.stacks;
  return spec.keyFields.filter((field) => ![userStackField, kernelStackField, pidField].includes(field));
}
