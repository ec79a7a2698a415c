// The no-op task that piscina and tinypool run in the peer benchmarks.
export default function noop() {}
