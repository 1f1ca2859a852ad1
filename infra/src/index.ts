export * from './cgroup';
export * from './scheduler-events';
