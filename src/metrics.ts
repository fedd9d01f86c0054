import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric Relais exports. One registry per process (created in `serve`),
 * passed explicitly; tests make their own. Names are a public contract (dashboards, alerts).
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'relais_process_' });
  const m = {
    registry,
    webhooksReceived: new Counter({ name: 'relais_webhooks_received_total', help: 'WhatsApp webhook POSTs accepted (committed) by outcome', labelNames: ['outcome'] as const, registers: [registry] }),
    webhooksRejected: new Counter({ name: 'relais_webhooks_rejected_total', help: 'WhatsApp webhook POSTs rejected, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    webhooksQuarantined: new Counter({ name: 'relais_webhooks_quarantined_total', help: 'Signed webhook payloads kept aside (unknown phone_number_id, unreadable)', labelNames: ['reason'] as const, registers: [registry] }),
    inboundMessages: new Counter({ name: 'relais_inbound_messages_total', help: 'Customer messages stored, by type; duplicates counted separately', labelNames: ['type', 'duplicate'] as const, registers: [registry] }),
    statusUpdates: new Counter({ name: 'relais_status_updates_total', help: 'Delivery status webhooks stored, by status', labelNames: ['status'] as const, registers: [registry] }),
    messagesRelayed: new Counter({ name: 'relais_messages_relayed_total', help: 'Customer messages posted to the chat platform, by type', labelNames: ['type', 'platform'] as const, registers: [registry] }),
    relayLatency: new Histogram({ name: 'relais_relay_latency_seconds', help: 'Webhook receipt to chat post', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300], registers: [registry] }),
    relayFailures: new Counter({ name: 'relais_relay_failures_total', help: 'Relay attempts that failed, by error code and whether they will be retried', labelNames: ['code', 'retryable'] as const, registers: [registry] }),
    retries: new Counter({ name: 'relais_job_retries_total', help: 'Jobs handed back for retry, by queue', labelNames: ['queue'] as const, registers: [registry] }),
    deadLetters: new Counter({ name: 'relais_dead_letters_total', help: 'Jobs moved to the dead-letter queue, by queue', labelNames: ['queue'] as const, registers: [registry] }),
    queueDepth: new Gauge({ name: 'relais_queue_depth', help: 'Jobs waiting, by queue (sampled)', labelNames: ['queue'] as const, registers: [registry] }),
    mediaBytes: new Counter({ name: 'relais_media_bytes_total', help: 'Media bytes downloaded from WhatsApp and stored encrypted', registers: [registry] }),
    decryptFailures: new Counter({ name: 'relais_decrypt_failures_total', help: 'Ciphertexts that failed authentication (tampering, wrong key)', labelNames: ['table'] as const, registers: [registry] }),
    outboundSent: new Counter({ name: 'relais_outbound_sent_total', help: 'Agent messages accepted by the WhatsApp Cloud API, by kind', labelNames: ['kind'] as const, registers: [registry] }),
    outboundFailures: new Counter({ name: 'relais_outbound_failures_total', help: 'Agent messages not sent, by error code (agents were notified)', labelNames: ['code'] as const, registers: [registry] }),
    whatsappTokenValid: new Gauge({ name: 'relais_whatsapp_token_valid', help: '0 after the Graph API refused the access token (code 190), 1 otherwise', registers: [registry] }),
    agentEvents: new Counter({ name: 'relais_agent_events_total', help: 'Agent posts and reactions seen, by outcome (queued, note, command, duplicate, ignored…)', labelNames: ['outcome'] as const, registers: [registry] }),
    pluginFailures: new Counter({ name: 'relais_plugin_failures_total', help: 'Plugin hook failures and timeouts', labelNames: ['plugin', 'hook'] as const, registers: [registry] }),
    retentionPurged: new Counter({ name: 'relais_retention_purged_total', help: 'What retention removed, by kind (messages, media, outbox, chat_posts, customers)', labelNames: ['kind'] as const, registers: [registry] }),
    retentionLastRun: new Gauge({ name: 'relais_retention_last_run_timestamp_seconds', help: 'End of the last retention run that completed in this process (take max over replicas)', registers: [registry] }),
    retentionFailures: new Counter({ name: 'relais_retention_failures_total', help: 'Retention failures, by stage (run: the run stopped; chat_post / chat_channel: one chat deletion failed, retried next run)', labelNames: ['stage'] as const, registers: [registry] }),
    adminApiRequests: new Counter({ name: 'relais_admin_api_requests_total', help: 'Admin API requests by route (method and path template, "unmatched" for unknown paths) and HTTP status', labelNames: ['route', 'status'] as const, registers: [registry] }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
