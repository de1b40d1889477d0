/**
 * The child side of a helper process: answers the parent's calls over IPC with the methods of one
 * object, and exits when the parent goes (so no helper outlives a crashed harness).
 */

export type Api = Record<string, (args: never) => unknown>;

interface Call {
  id: number;
  method: string;
  args: unknown;
}

export function serve(api: Api, onExit?: () => Promise<void> | void): void {
  const send = (message: unknown) => process.send?.(message);
  process.on('message', (message: Call) => {
    const method = api[message.method];
    if (!method) return send({ id: message.id, error: `no method ${message.method}` });
    Promise.resolve()
      .then(() => method(message.args as never))
      .then(
        (result) => send({ id: message.id, result }),
        (error: unknown) => send({ id: message.id, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
      );
  });
  const exit = () => {
    Promise.resolve(onExit?.()).finally(() => process.exit(0));
  };
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);
  send({ ready: true });
}
