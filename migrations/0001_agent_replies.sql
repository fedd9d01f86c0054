-- Intent: agent replies: the outbox (one row per agent post or reaction), synced templates, per-channel catch-up cursor.
CREATE TABLE "outbox" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"source_key" text NOT NULL,
	"chat_post_id" text,
	"chat_channel_id" text NOT NULL,
	"kind" text NOT NULL,
	"content_enc" "bytea" NOT NULL,
	"key_version" integer NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error_code" text,
	"wamid_bidx" text,
	"wamid_enc" "bytea",
	"status" text,
	"status_rank" integer DEFAULT 0 NOT NULL,
	"status_at" timestamp with time zone,
	"status_error_code" integer,
	"indicator" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "outbox_source_key_uq" UNIQUE("source_key"),
	CONSTRAINT "outbox_wamid_bidx_uq" UNIQUE("wamid_bidx")
);
--> statement-breakpoint
CREATE TABLE "templates" (
	"name" text NOT NULL,
	"language" text NOT NULL,
	"status" text NOT NULL,
	"category" text,
	"components" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "templates_pk" PRIMARY KEY("name","language")
);
--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "chat_cursor" bigint;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbox_chat_post_idx" ON "outbox" USING btree ("chat_post_id");--> statement-breakpoint
CREATE INDEX "messages_chat_post_idx" ON "messages" USING btree ("chat_post_id");