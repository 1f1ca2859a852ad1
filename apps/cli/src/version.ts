declare const FLEETTRACE_VERSION: string | undefined;

/** The package version, written in by the bundler; from source (tests, tsx) it reads "dev". */
export const VERSION: string = typeof FLEETTRACE_VERSION === 'string' ? FLEETTRACE_VERSION : 'dev';
