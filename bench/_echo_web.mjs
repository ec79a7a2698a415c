// A bare Web Worker that sends every message straight back: the floor for a round trip through
// the host's native Web Workers.
self.onmessage = (e) => self.postMessage(e.data);
