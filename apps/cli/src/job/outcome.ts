import type { JobView } from '@fleettrace/contracts';
import { ExitCode } from '../errors';
import { unsuccessfulRuns } from './phases';

/** 0 when every host's run succeeded, 3 when the job completed without some of them. */
export function jobExitCode(job: JobView): ExitCode {
  return unsuccessfulRuns(job).length > 0 ? ExitCode.someHostsFailed : ExitCode.ok;
}
