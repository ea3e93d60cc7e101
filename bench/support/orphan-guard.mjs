// Preloaded (--import) into every Node child the benchmark starts: when the
// IPC channel to the bench process closes (the bench ended, or was killed,
// even by SIGKILL), the child exits instead of living on as an orphan.
if (process.channel) {
  process.on('disconnect', () => process.exit(0));
  // The channel must not keep a child alive on its own, nor keep it from exiting.
  process.channel.unref();
}
