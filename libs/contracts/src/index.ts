export * from './limits';
export * from './run-state';
export * from './outputs';
export * from './job';
export * from './host';
export * from './queue';
export * from './api';
