/**
 * Prometheus metrics of one gateway (prom-client, a registry of its own so several gateways in one
 * process do not collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** The gateway's metrics. */
export class GatewayMetrics {
  readonly registry: Registry = new Registry()
  readonly connections: Counter<'protocol'>
  readonly openConnections: Gauge
  readonly identities: Counter<'label' | 'outcome'>
  readonly violations: Counter<'code'>
  readonly requests: Counter<'status'>
  readonly upstreamSeconds: Histogram<'route'>

  constructor(withDefaults = false) {
    const registers = [this.registry]
    this.connections = new Counter({ name: 'h2sc_gateway_connections_total', help: 'client connections accepted, by protocol (h2, http/1.1)', labelNames: ['protocol'], registers })
    this.openConnections = new Gauge({ name: 'h2sc_gateway_open_connections', help: 'client connections open now', registers })
    this.identities = new Counter({
      name: 'h2sc_gateway_identities_total',
      help: 'secondary identities by label and outcome (validated, declined, untrusted, invalid)',
      labelNames: ['label', 'outcome'],
      registers,
    })
    this.violations = new Counter({ name: 'h2sc_gateway_violations_total', help: 'protocol violations that ended a connection, by HTTP/2 code', labelNames: ['code'], registers })
    this.requests = new Counter({ name: 'h2sc_gateway_requests_total', help: 'requests answered, by status', labelNames: ['status'], registers })
    this.upstreamSeconds = new Histogram({
      name: 'h2sc_gateway_upstream_duration_seconds',
      help: 'time from sending a request upstream to its response headers',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    if (withDefaults) collectDefaultMetrics({ register: this.registry })
  }
}
