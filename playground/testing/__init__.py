"""Test and benchmark machinery shipped as library code: real local servers, no mocks.

    from playground.testing import Reply, ScriptedServer
    with ScriptedServer() as server:
        server.script(Reply(status=429, headers={"retry-after": "1"}), Reply(chunks=["Hi", "!"]))
        ...  # point a backend at server.base_url("openai") and stream
"""

from playground.testing.frames import Reply, sse
from playground.testing.ports import free_port
from playground.testing.servers import PROTOCOLS, Recorded, ScriptedServer
from playground.testing.streams import Stamped, collect, kinds, reasoning_of, text_of

__all__ = ["PROTOCOLS", "Recorded", "Reply", "ScriptedServer", "Stamped", "collect", "free_port", "kinds",
           "reasoning_of", "sse", "text_of"]
