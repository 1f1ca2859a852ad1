import { ApiClient } from './client';
import { resolveApiTarget } from '../config/config';
import type { Io } from '../io';
import type { CommandInput } from '../spec';

/** Runs `body` with a client for the configured API, closed afterwards so the process can end. */
export async function withClient<T>(input: CommandInput, io: Io, body: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = await ApiClient.for(resolveApiTarget(io, input.options.profile as string | undefined));
  try {
    return await body(client);
  } finally {
    client.close();
  }
}
