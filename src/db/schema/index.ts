export * from './settings.js';
export * from './customers.js';
export * from './messages.js';
export * from './media.js';
export * from './quarantine.js';
export * from './outbox.js';
export * from './compliance.js';
export * from './admin-api.js';
