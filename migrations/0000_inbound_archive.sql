-- Intent: the encrypted inbound archive: customers and their wrapped data keys, messages, media frames, status events, quarantine, settings.
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" "bytea" NOT NULL,
	"kek_version" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "customer_keys" (
	"customer_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"wrapped" "bytea" NOT NULL,
	"kek_version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "customer_keys_pk" PRIMARY KEY("customer_id","version")
);
--> statement-breakpoint
CREATE TABLE "customers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"phone_number_id" text NOT NULL,
	"customer_bidx" text NOT NULL,
	"phone_bidx" text,
	"wa_id_enc" "bytea",
	"bsuid_enc" "bytea",
	"profile_name_enc" "bytea",
	"key_version" integer DEFAULT 1 NOT NULL,
	"channel_key" text NOT NULL,
	"chat_channel_id" text,
	"last_inbound_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "customers_number_customer_uq" UNIQUE("phone_number_id","customer_bidx")
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"direction" text NOT NULL,
	"wamid_bidx" text,
	"wamid_enc" "bytea",
	"type" text NOT NULL,
	"content_enc" "bytea" NOT NULL,
	"ref_bidx" text,
	"key_version" integer NOT NULL,
	"wa_timestamp" timestamp with time zone,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"relay_state" text DEFAULT 'pending' NOT NULL,
	"relay_attempt_at" timestamp with time zone,
	"relay_error" text,
	"chat_post_id" text,
	"posted_at" timestamp with time zone,
	"status" text,
	"status_rank" integer DEFAULT 0 NOT NULL,
	"status_at" timestamp with time zone,
	"status_error_code" integer,
	CONSTRAINT "messages_wamid_bidx_uq" UNIQUE("wamid_bidx")
);
--> statement-breakpoint
CREATE TABLE "status_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"wamid_bidx" text NOT NULL,
	"status" text NOT NULL,
	"rank" integer NOT NULL,
	"wa_timestamp" timestamp with time zone,
	"error_code" integer,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "status_events_wamid_status_uq" UNIQUE("wamid_bidx","status")
);
--> statement-breakpoint
CREATE TABLE "media" (
	"id" uuid PRIMARY KEY NOT NULL,
	"message_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"mime_type" text,
	"size" bigint,
	"filename_enc" "bytea",
	"key_version" integer NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "media_frames" (
	"media_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "media_frames_pk" PRIMARY KEY("media_id","seq")
);
--> statement-breakpoint
CREATE TABLE "quarantine" (
	"id" uuid PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"phone_number_id" text,
	"payload_enc" "bytea" NOT NULL,
	"kek_version" integer NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "customer_keys" ADD CONSTRAINT "customer_keys_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "media" ADD CONSTRAINT "media_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "media_frames" ADD CONSTRAINT "media_frames_media_id_media_id_fk" FOREIGN KEY ("media_id") REFERENCES "public"."media"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "customers_phone_bidx_idx" ON "customers" USING btree ("phone_bidx");--> statement-breakpoint
CREATE INDEX "messages_customer_idx" ON "messages" USING btree ("customer_id","received_at");--> statement-breakpoint
CREATE INDEX "messages_relay_state_idx" ON "messages" USING btree ("relay_state");--> statement-breakpoint
CREATE INDEX "media_message_idx" ON "media" USING btree ("message_id");