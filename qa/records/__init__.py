"""Question and answer records at the edge of the CLI: question files read, batch results written
(jsonl, csv, md), answers rendered for a terminal."""
