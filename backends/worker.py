"""Local engines in worker processes: one process per loaded model, events over a pipe.

Why a process: llama.cpp and friends are native code — a segfault must end one lane with a
clear error, never the server or the other lanes; a process can be unloaded for real; and
generation never holds the event loop's GIL.

Parent side (``Worker``): spawns the process, sends ``("generate", gen_id, request)`` and
``("cancel", gen_id)``, and turns the child's messages into backend events. Only one
generation runs at a time per worker (an ``asyncio.Lock``); a cancelled generation is told
to stop and its late messages are dropped by generation id, so the next request never waits
on it. Child side (``serve``): a reader thread takes commands (a cancel sets a flag the
engine checks every token), the main thread loads the engine once and generates.

An engine (child side) is a class ``Engine(**load_args)`` with
``generate(request: dict, emit: Callable[..., None], cancelled: Callable[[], bool]) -> None``;
``emit(kind, *payload)`` sends "started", "text", "reasoning", "usage", "finish", "info", and
"logprobs" (a list of ``[text, logprob, [[alt, logprob], ...]]`` rows, ``backends.tokenprobs``).
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

from backends.base import (
    EngineInfo,
    Event,
    Finish,
    ReasoningDelta,
    Request,
    Started,
    TextDelta,
    TokenLogprobs,
    TokenProb,
    Usage,
)
from backends.errors import EngineCrashed, ModelLoadError


def request_to_dict(request: Request) -> dict[str, Any]:
    return {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "params": asdict(request.params),
        "threads": request.threads,
    }


class Worker:
    """The parent's handle on one worker process serving one model."""

    def __init__(self, target: str, load_args: dict[str, Any], label: str) -> None:
        self.target, self.load_args, self.label = target, load_args, label
        self.lock = asyncio.Lock()
        self.loaded = False
        self._gen_ids = itertools.count(1)
        self._current: int | None = None
        self._inbox: asyncio.Queue[tuple] | None = None
        # A fresh interpreter (not fork: the parent runs threads; not multiprocessing's spawn:
        # it re-imports the caller's __main__, which breaks unguarded scripts and notebooks).
        parent_sock, child_sock = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backends.worker", str(child_sock.fileno()), target,
             json.dumps(load_args)],
            pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL,
        )
        child_sock.close()
        self._conn = Connection(parent_sock.detach())
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._conn.fileno(), self._on_readable)
        self.dead = False

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def _on_readable(self) -> None:
        try:
            while self._conn.poll():
                msg = self._conn.recv()
                if self._inbox is not None and msg[1] == self._current:
                    self._inbox.put_nowait(msg)
        except (EOFError, OSError):
            self._mark_dead()

    def _mark_dead(self) -> None:
        if self.dead:
            return
        self.dead = True
        try:
            self._loop.remove_reader(self._conn.fileno())
        except (ValueError, OSError):
            pass
        if self._inbox is not None:
            self._inbox.put_nowait(("crashed", self._current))

    def _crash_reason(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return "its pipe closed"
        if code < 0:
            try:
                return f"signal {-code} ({signal.Signals(-code).name})"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    async def generate(self, request: Request) -> AsyncIterator[Event]:
        """Run one generation; yields backend events. Holds the worker's lock throughout."""
        async with self.lock:
            if self.dead:
                raise EngineCrashed(f"local engine for {self.label} is not running — retry the run")
            gen_id = next(self._gen_ids)
            self._current, self._inbox = gen_id, asyncio.Queue()
            finished = False
            try:
                self._conn.send(("generate", gen_id, request_to_dict(request)))
                while True:
                    msg = await self._inbox.get()
                    kind = msg[0]
                    if kind == "done":
                        finished = True
                        return
                    if kind == "crashed":
                        reason = await asyncio.to_thread(self._crash_reason)
                        raise EngineCrashed(
                            f"local engine crashed: {reason} — {self.label}; the other lanes are "
                            "unaffected and the next run starts a fresh engine")
                    event = self._to_event(kind, msg[2:])
                    if event is not None:
                        yield event
            finally:
                self._current, self._inbox = None, None
                if not finished and not self.dead:
                    try:
                        self._conn.send(("cancel", gen_id))
                    except OSError:
                        self._mark_dead()

    def _to_event(self, kind: str, payload: tuple) -> Event | None:
        if kind == "text":
            return TextDelta(payload[0])
        if kind == "logprobs":
            return TokenLogprobs(tuple(TokenProb(t, lp, tuple((a, alp) for a, alp in top))
                                       for t, lp, top in payload[0]))
        if kind == "started":
            self.loaded = True
            return Started()
        if kind == "usage":
            return Usage(payload[0], payload[1], source="tokenizer")
        if kind == "finish":
            return Finish(payload[0], payload[0])
        if kind == "reasoning":
            return ReasoningDelta(payload[0])
        if kind == "info":
            return EngineInfo(**payload[0])
        if kind == "load_error":
            raise ModelLoadError(payload[0])
        if kind == "error":
            raise EngineCrashed(f"local engine failed: {payload[0]}")
        return None

    async def close(self) -> None:
        if not self.dead:
            self._mark_dead()
            try:
                self._conn.send(("shutdown", 0))
            except OSError:
                pass
        try:
            await asyncio.to_thread(self.process.wait, 3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait, 3)
        self._conn.close()


# ---- child side -------------------------------------------------------------------------------


def serve(conn: Connection, target: str, load_args: dict[str, Any]) -> None:
    """The worker process's main: load the engine on first use, then generate on request."""
    commands: queue.Queue[tuple] = queue.Queue()
    cancelled: set[int] = set()
    send_lock = threading.Lock()

    def reader() -> None:
        try:
            while True:
                msg = conn.recv()
                if msg[0] == "cancel":
                    cancelled.add(msg[1])
                else:
                    commands.put(msg)
                if msg[0] == "shutdown":
                    return
        except (EOFError, OSError):
            os._exit(0)  # the parent is gone: so are we

    threading.Thread(target=reader, daemon=True, name="commands").start()
    engine = None
    while True:
        cmd = commands.get()
        if cmd[0] == "shutdown":
            return
        _, gen_id, request = cmd

        def emit(kind: str, *payload: Any, _gen: int = gen_id) -> None:
            with send_lock:
                conn.send((kind, _gen, *payload))

        if gen_id in cancelled:
            emit("done")
            continue
        if engine is None:
            try:
                module, _, name = target.partition(":")
                engine = getattr(importlib.import_module(module), name)(**load_args)
            except Exception as exc:  # noqa: BLE001 - reported to the lane, then this worker ends
                emit("load_error", f"{type(exc).__name__}: {exc}")
                emit("done")
                return
        try:
            engine.generate(request, emit, lambda g=gen_id: g in cancelled)
        except Exception as exc:  # noqa: BLE001 - the lane's error; the worker stays usable
            emit("error", f"{type(exc).__name__}: {exc}")
        emit("done")
        cancelled.discard(gen_id)


if __name__ == "__main__":  # python -m backends.worker FD TARGET LOAD_ARGS_JSON
    serve(Connection(int(sys.argv[1])), sys.argv[2], json.loads(sys.argv[3]))
