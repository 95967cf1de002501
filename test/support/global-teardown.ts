export default async function globalTeardown(): Promise<void> {
  await globalThis.__NRP_REDIS__?.close();
}
