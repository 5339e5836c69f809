// A synchronous pause for the bounded polls of ipvlan-attach (DAD, a gateway's
// answer): the plugin's network work is synchronous, and a timer would need
// the event loop.
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
