"""Shard iterators that name their stream and shard, so every GetRecords call is judged.

The gateway hands out `<engine iterator>|<stream>|<shard id>` instead of the engine's own
iterator. Clients treat iterators as opaque strings (as AWS's are), and the gateway reads the
shard back from the iterator itself, so no iterator can escape the shard's read limits, not
even one issued before the gateway restarted or one it would otherwise have forgotten. An
iterator without that form was never issued by the gateway and is refused as AWS refuses an
unknown one (InvalidArgumentException).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.local.aws.errors import AwsError

SEPARATOR = "|"  # in neither the engine's base64 iterators, stream names nor shard ids


@dataclass(frozen=True)
class GatewayIterator:
    engine_iterator: str
    stream: str
    shard_id: str

    def token(self) -> str:
        return SEPARATOR.join((self.engine_iterator, self.stream, self.shard_id))


def wrap(engine_iterator: str | None, stream: str, shard_id: str) -> str | None:
    if not engine_iterator:
        return engine_iterator  # a closed shard's last page has no next iterator
    return GatewayIterator(engine_iterator, stream, shard_id).token()


def unwrap(token: object) -> GatewayIterator:
    parts = token.split(SEPARATOR) if isinstance(token, str) else []
    if len(parts) != 3 or not all(parts):
        raise AwsError("InvalidArgumentException", "Invalid ShardIterator.")
    return GatewayIterator(*parts)
