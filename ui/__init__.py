"""The web UI: sign-in, streamed cited chat, score charts, drafts and HR ingest, served by `perfagent serve`."""
