// AttentionService: filled in by the server work.
