-- Intent: retention: purge marker on outbox, retired-identity marker on customers, partial indexes for the daily purge and chat pruning.
ALTER TABLE "customers" ADD COLUMN "identity_shredded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "content_purged_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "messages_retention_idx" ON "messages" USING btree ("received_at") WHERE content_purged_at is null or wamid_bidx is not null;--> statement-breakpoint
CREATE INDEX "messages_prune_idx" ON "messages" USING btree ("id") WHERE content_purged_at is not null and chat_post_id is not null;--> statement-breakpoint
CREATE INDEX "outbox_retention_idx" ON "outbox" USING btree ("created_at") WHERE content_purged_at is null or wamid_bidx is not null;