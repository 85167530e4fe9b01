"""Serving a loaded index: the HTTP API and its web page, the client of `--server`, the shell and the
MCP server, all over one long-lived `Service`."""
