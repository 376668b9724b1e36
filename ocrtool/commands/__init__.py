"""Click commands, one module per command group; each is thin and calls the public API."""
