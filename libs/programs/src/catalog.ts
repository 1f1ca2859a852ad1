import { execsnoop } from './execsnoop/execsnoop';
import type { CatalogProgram } from './manifest';
import { runqlat } from './runqlat/runqlat';
import { syscount } from './syscount/syscount';
import { exitsnoop } from './exitsnoop/exitsnoop';
import { sigsnoop } from './sigsnoop/sigsnoop';
import { tcpconnect } from './tcpconnect/tcpconnect';
import { oomkill } from './oomkill/oomkill';
import { tcplife } from './tcplife/tcplife';
import { opensnoop } from './opensnoop/opensnoop';
import { filelife } from './filelife/filelife';
import { tcpretrans } from './tcpretrans/tcpretrans';
import { biolatency } from './biolatency/biolatency';
import { offcputime } from './offcputime/offcputime';
import { biosnoop } from './biosnoop/biosnoop';
import { profile } from './profile/profile';
import { xdpcount } from './xdpcount/xdpcount';
import { funccount } from './funccount/funccount';
import { funclatency } from './funclatency/funclatency';
import { bashreadline } from './bashreadline/bashreadline';

/** Every built-in program by name; each name is its directory under src/ and its object's name. */
export const catalog: Readonly<Record<string, CatalogProgram>> = { execsnoop, syscount, runqlat, exitsnoop, sigsnoop, tcpconnect, oomkill, tcplife, opensnoop, filelife, tcpretrans, biolatency, offcputime, biosnoop, profile, xdpcount, funccount, funclatency, bashreadline };

/** The catalog program called `name`, or undefined for a name the catalog does not have. */
export function getProgram(name: string): CatalogProgram | undefined {
  return Object.hasOwn(catalog, name) ? catalog[name] : undefined;
}

export function programNames(): string[] {
  return Object.keys(catalog);
}
