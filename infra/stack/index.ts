export * from './components';
export * from './api-client';
export * from './services/process';
export * from './services/ports';
export * from './services/postgres';
export * from './services/redis';
export * from './repo-root';
export * from './services/sshd';
