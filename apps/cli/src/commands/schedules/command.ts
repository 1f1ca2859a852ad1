import { JOB_OPTIONS } from '../../job-request/job-options';
import { FIELDS_OPTION, FORMAT_OPTION } from '../../options';
import { PROGRAM_ARGUMENT } from '../../program/program-options';
import type { ArgumentSpec, CommandSpec } from '../../spec';

const SCHEDULE_ID: ArgumentSpec = { name: 'id', required: true, description: 'the schedule id (a UUID, as `schedules create` prints it)' };

export const schedulesCommand: CommandSpec = {
  name: 'schedules',
  description: 'Jobs started by cron or every so often: each firing is an ordinary job.',
  subcommands: [
    {
      name: 'create',
      description: 'A schedule firing the job that the program, target and duration flags describe (as `run` takes them).',
      arguments: [PROGRAM_ARGUMENT],
      options: [
        { name: 'name', argument: 'NAME', description: 'what the schedule is called (required)' },
        { name: 'cron', argument: 'EXPR', description: 'fire by a cron expression: "*/5 * * * *" (minute hour day month weekday)' },
        { name: 'every', argument: 'TIME', description: 'fire every TIME: 30s, 5m, 1h (at most a week)' },
        { name: 'timezone', argument: 'ZONE', description: 'the time zone of --cron: Europe/Paris (default UTC)' },
        { name: 'overlap', argument: 'POLICY', choices: ['skip', 'allow'], description: "skip a firing while the schedule's last job still runs (default), or allow it" },
        { name: 'paused', description: 'create it paused: it fires once resumed' },
        ...JOB_OPTIONS,
        FORMAT_OPTION,
      ],
      examples: [
        { description: "the web tier's run-queue latency every 5 minutes, 30 s each", command: "fleettrace schedules create runqlat --name web-runqlat --every 5m --duration 30s --selector tier=web" },
        { description: 'a CPU profile of a tenth of the fleet at 3:00 in Paris', command: "fleettrace schedules create profile --name nightly-cpu --cron '0 3 * * *' --timezone Europe/Paris --sample 10% --duration 1m" },
      ],
      load: async () => (await import('./create')).create,
    },
    {
      name: 'ls',
      description: 'Every schedule: when it fires, whether it is paused, its next and last firing.',
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./ls')).ls,
    },
    {
      name: 'show',
      description: 'One schedule: its job, its last firings (started or skipped, and why) and the jobs it started.',
      arguments: [SCHEDULE_ID],
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./show')).show,
    },
    {
      name: 'pause',
      description: 'Stop firing (the jobs it started go on).',
      arguments: [SCHEDULE_ID],
      options: [FORMAT_OPTION],
      load: async () => (await import('./enable')).pause,
    },
    {
      name: 'resume',
      description: 'Fire again, from the next due time (firings missed while paused are not replayed).',
      arguments: [SCHEDULE_ID],
      options: [FORMAT_OPTION],
      load: async () => (await import('./enable')).resume,
    },
    {
      name: 'rm',
      description: 'Delete the schedule (the jobs it started are kept).',
      arguments: [SCHEDULE_ID],
      load: async () => (await import('./rm')).rm,
    },
  ],
};
