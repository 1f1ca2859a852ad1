export { bootstrap, type BootstrapOptions, type RunningApi } from './bootstrap';
export { configFromEnv, parseRoles, DEFAULT_TIMINGS, type ApiConfig, type Role } from './config';
