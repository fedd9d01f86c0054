import type { ComplianceDeps } from '../../../compliance/deps.js';

/** A search hit as the search service returns it. */
export interface SearchHit {
  messageId: string;
  customerId: string;
  direction: 'inbound' | 'outbound';
  at: Date;
  text: string;
  chat: { channelId: string | null; postId: string | null; link: string | null };
}

/**
 * The data-subject services the admin API calls (the same ones the CLI runs). Each is optional:
 * a route whose service is not wired answers 501 `not_implemented`.
 */
export interface AdminServices {
  exportCustomer?(deps: ComplianceDeps, phone: string, opts: { actor: string }): Promise<{ zip: Uint8Array; customers: number; messages: number; media: number }>;
  eraseCustomer?(deps: ComplianceDeps, phone: string, opts: { actor: string }): Promise<{ customers: number; messagesDeleted: number; chat: 'deleted' | 'archived' | 'kept' | 'pending'; chatDetail?: string }>;
  setLegalHold?(deps: ComplianceDeps, phone: string, on: boolean, opts: { actor: string; reason?: string }): Promise<{ customers: number }>;
  searchMessages?(deps: ComplianceDeps, query: string, opts: { actor: string; limit?: number; phone?: string; phoneNumberId?: string; customerId?: string }): Promise<SearchHit[]>;
}
