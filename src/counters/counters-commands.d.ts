// Typed commands for the scripts in ./lua (registered on the state client by CounterService).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    counterHit(
      pendingKey: string,
      flushingKey: string,
      id: string,
      by: number,
    ): Result<[number, number, string | null], Context>;
    counterDetach(
      pendingKey: string,
      flushingKey: string,
      batchId: string,
    ): Result<[string, number] | null, Context>;
    counterFinish(flushingKey: string, batchId: string): Result<number, Context>;
  }
}
