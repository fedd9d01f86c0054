-- Intent: the proof of erasure records what happened to the chat side (deleted, archived, kept).
ALTER TABLE "erasures" ADD COLUMN "chat_outcome" text;
