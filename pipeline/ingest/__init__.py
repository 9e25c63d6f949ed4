"""The Kinesis consumer: decode, validate, dead-letter or store (see docs/pipeline.md)."""
