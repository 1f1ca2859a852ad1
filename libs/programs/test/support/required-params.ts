/**
 * Params some catalog programs cannot do without (where to attach), for tests that parse every
 * program's params; the values only need to pass validation.
 */
export const REQUIRED_PARAMS: Readonly<Record<string, Record<string, unknown>>> = {
  xdpcount: { interface: 'lo' },
  funccount: { binary: '/bin/true', function: 'main' },
  funclatency: { binary: '/bin/true', function: 'main' },
};

export function minimalParams(program: string): Record<string, unknown> {
  return REQUIRED_PARAMS[program] ?? {};
}
