-- Intent: admin API rate-limit counters shared by all replicas (per token, and per client address for failed authentication).
CREATE TABLE "admin_rate_limits" (
	"key" text PRIMARY KEY NOT NULL,
	"points" integer NOT NULL,
	"expire" timestamp with time zone
);
