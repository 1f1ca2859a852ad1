export * from './cgroup';
export * from './scheduler-events';
export * from './custom-program';
