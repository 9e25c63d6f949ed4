"""The read API: one event by id, a page of one type in time order (docs/pipeline.md)."""
