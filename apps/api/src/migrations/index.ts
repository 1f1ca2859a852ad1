import { initial } from './0001-initial';

export interface Migration {
  /** Applied in this order; a name, once released, never changes. */
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [{ name: '0001-initial', sql: initial }];
