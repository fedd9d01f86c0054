-- Intent: search postings keyed (token, time, row) so "newest messages holding a token" is an index range; postings for agent replies (outbox_tokens); outbox index by customer.
CREATE TABLE "outbox_tokens" (
	"token" integer NOT NULL,
	"outbox_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "outbox_tokens_pk" PRIMARY KEY("token","created_at","outbox_id")
);
--> statement-breakpoint
ALTER TABLE "outbox_tokens" ADD CONSTRAINT "outbox_tokens_outbox_id_outbox_id_fk" FOREIGN KEY ("outbox_id") REFERENCES "public"."outbox"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbox_tokens_outbox_idx" ON "outbox_tokens" USING btree ("outbox_id");--> statement-breakpoint
CREATE INDEX "outbox_customer_idx" ON "outbox" USING btree ("customer_id","created_at");--> statement-breakpoint
ALTER TABLE "message_tokens" DROP CONSTRAINT "message_tokens_pk";
--> statement-breakpoint
ALTER TABLE "message_tokens" ADD CONSTRAINT "message_tokens_pk" PRIMARY KEY("token","received_at","message_id");