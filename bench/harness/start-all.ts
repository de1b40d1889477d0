/** Helpers started at once (each takes a moment); if one fails, the others are stopped again. */
export interface Stoppable {
  stop(): Promise<void>;
}

export async function startAll<T extends readonly Stoppable[]>(...starting: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((result) => (result.status === 'fulfilled' ? (result.value as Stoppable).stop() : undefined)));
    throw failed.reason;
  }
  return settled.map((result) => (result as PromiseFulfilledResult<Stoppable>).value) as unknown as T;
}
