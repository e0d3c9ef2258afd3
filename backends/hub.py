"""Hugging Face hub ids with a revision, and the local hub cache: the one home of the ``@`` rule.

A hub id may name a revision after its LAST ``@`` — ``hf:OWNER/REPO@REVISION``,
``gguf:OWNER/REPO/FILE.gguf@REVISION`` — a branch, a tag or a commit (Pythia's checkpoints are
branches ``step0`` … ``step143000``). The hub writes a pull request's ref URL-encoded
(``refs%2Fpr%2F1``); it is decoded here. The revision text comes from whoever typed the id, so it
is checked before it reaches a path or a URL: at most ``MAX_REVISION`` characters, letters, digits
and ``. _ - /``, no empty, ``.`` or ``..`` part; anything else is a one-line ``ConfigError``.

The cache layout is huggingface_hub's: ``models--OWNER--REPO/refs/<revision>`` holds the commit a
branch or tag pointed to when it was fetched, and ``snapshots/<commit>/`` its files. Reading it
imports nothing (the parent stays light; ``check`` must be cheap); ``hub_cache`` follows
huggingface_hub's own rule for where the cache is. Downloading happens in the worker
(``backends.hf``, ``backends.gguf``), with ``revision=``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from backends.errors import ConfigError

MAX_REVISION = 200  # longer than any branch, tag or commit name the hub gives a model
DEFAULT_REVISION = "main"  # huggingface_hub's default when no revision is named
_REVISION = re.compile(r"[A-Za-z0-9._/-]+")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_TRUE = {"1", "ON", "YES", "TRUE"}  # what huggingface_hub accepts as "set"


@dataclass(frozen=True, slots=True)
class HubRef:
    """A hub repository (or a file in one) at a revision — None: the default branch."""

    repo: str  # OWNER/REPO
    revision: str | None = None  # decoded: refs%2Fpr%2F1 is refs/pr/1

    @property
    def suffix(self) -> str:
        """``@REVISION`` (decoded), or nothing: for messages."""
        return f"@{self.revision}" if self.revision else ""

    def fetch_command(self, filename: str | None = None) -> str:
        """The command that puts this revision (or one file of it) into the hub cache."""
        parts = ["hf download", self.repo, *([filename] if filename else []),
                 *(["--revision", self.revision] if self.revision else [])]
        return " ".join(parts)


def split_revision(model: str) -> tuple[str, str | None]:
    """``NAME@REVISION`` → (NAME, the revision text as written); (model, None) without an ``@``."""
    name, sep, revision = model.rpartition("@")
    return (name, revision) if sep else (model, None)


def parse_revision(text: str) -> str:
    """The revision of an id, decoded and checked; ConfigError (one line) when it cannot be one."""
    decoded = unquote(text[:MAX_REVISION * 3])  # %2F is three characters for one
    parts = decoded.split("/")
    if (len(text) > MAX_REVISION * 3 or not decoded or len(decoded) > MAX_REVISION
            or not _REVISION.fullmatch(decoded) or {"", ".", ".."} & set(parts)):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise ConfigError(
            f"bad revision {shown!r}: after the last @ give a branch, tag or commit — letters, digits, "
            f". _ - and /, at most {MAX_REVISION} characters (a pull request: refs%2Fpr%2F1)")
    return decoded


def hub_ref(repo: str, revision_text: str | None) -> HubRef:
    """A hub id's repository and its revision as typed (``split_revision``), checked and decoded."""
    return HubRef(repo, None if revision_text is None else parse_revision(revision_text))


def offline(value: object) -> bool:
    """Whether an ``HF_HUB_OFFLINE`` value means offline, as huggingface_hub reads it."""
    return str(value or "").strip().upper() in _TRUE


def hub_cache(env: Mapping[str, str]) -> Path:
    """Where huggingface_hub keeps its cache: HF_HUB_CACHE, else HF_HOME/hub, else
    $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub."""
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    home = env.get("HF_HOME") or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
    return Path(home).expanduser() / "hub"


def repo_folder(cache: Path | str, repo: str) -> Path:
    """``models--OWNER--REPO`` under the cache (huggingface_hub's ``repo_folder_name``)."""
    return Path(cache) / "--".join(["models", *repo.split("/")])


def cached_commit(cache: Path | str, ref: HubRef) -> str | None:
    """The commit the cache holds for this revision (a snapshot folder for it exists), or None."""
    folder = repo_folder(cache, ref.repo)
    revision = ref.revision or DEFAULT_REVISION
    if _COMMIT.fullmatch(revision):
        commit = revision
    else:
        try:  # the revision was checked: no "..", so this stays under refs/
            commit = (folder / "refs" / revision).read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not _COMMIT.fullmatch(commit):
            return None
    return commit if (folder / "snapshots" / commit).is_dir() else None


def snapshot(cache: Path | str, ref: HubRef) -> tuple[Path, str] | None:
    """(the snapshot folder, its commit) the cache holds for this revision, or None."""
    commit = cached_commit(cache, ref)
    return None if commit is None else (repo_folder(cache, ref.repo) / "snapshots" / commit, commit)


def commit_of(path: Path | str) -> str | None:
    """The commit of a file or folder inside a cache snapshot (``…/snapshots/<commit>/…``)."""
    parts = Path(path).parts
    for i, part in enumerate(parts[:-1]):
        if part == "snapshots" and _COMMIT.fullmatch(parts[i + 1]):
            return parts[i + 1]
    return None


def not_cached(ref: HubRef, filename: str | None = None) -> str:
    """The one line for a revision the cache lacks while offline: what is missing and how to fetch it."""
    what = f"{ref.repo}/{filename}" if filename else ref.repo
    revision = f"revision {ref.revision} of {what}" if ref.revision else what
    return (f"{revision} is not in the local hub cache and HF_HUB_OFFLINE is set — download it first: "
            f"{ref.fetch_command(filename)}")


# ---- worker side: where a hub model's files are, downloading them when online --------------------


def fetch_file(ref: HubRef, filename: str, *, offline: bool, cache: str | None) -> tuple[str, str | None]:
    """(the local path, its commit) of one file of a revision: offline from the cache only (a
    one-line error naming how to fetch it when absent), online by ``hf_hub_download(revision=)``,
    which writes the file and the revision's ref into the same cache."""
    if offline:
        found = snapshot(cache or hub_cache_now(), ref)
        path = found[0] / filename if found else None
        if found is None or path is None or not path.is_file():
            raise RuntimeError(not_cached(ref, filename))
        return str(path), found[1]
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise RuntimeError("huggingface_hub is missing: pip install 'playground[local]'") from exc
    try:
        path = hf_hub_download(repo_id=ref.repo, filename=filename, revision=ref.revision, cache_dir=cache)
    except Exception as exc:
        raise RuntimeError(
            f"could not fetch {ref.repo}/{filename}{ref.suffix} from the Hugging Face hub "
            f"({type(exc).__name__}) — download it ({ref.fetch_command(filename)}) or use gguf:PATH instead"
        ) from exc
    return path, commit_of(path)


def hub_cache_now() -> Path:
    """The cache this process's environment names (a worker given no cache by its parent)."""
    return hub_cache(os.environ)


@dataclass(frozen=True, slots=True)
class CachedSnapshot:
    """One snapshot the cache holds, under each name it can be asked for: the revision (None = the
    default branch) and the snapshot's folder."""

    repo: str
    revision: str | None
    folder: Path


def cached_snapshots(cache: Path | str) -> list[CachedSnapshot]:
    """Every (repository, revision) the cache can load offline: one per ref (``refs/main`` → no
    revision, ``refs/step1`` → ``step1``, ``refs/pr/1`` → ``refs/pr/1``) whose snapshot is there,
    plus each snapshot no ref names (by its commit). Names that would not pass ``parse_revision``
    are left out: what is offered can be typed back."""
    out: list[CachedSnapshot] = []
    for folder in sorted(Path(cache).glob("models--*")):
        repo = "/".join(folder.name.split("--")[1:])
        named: set[str] = set()
        refs = folder / "refs"
        for ref in sorted(p for p in refs.rglob("*") if p.is_file()) if refs.is_dir() else ():
            name = ref.relative_to(refs).as_posix()
            try:
                commit = ref.read_text("utf-8").strip()
                revision = None if name == DEFAULT_REVISION else parse_revision(name)
            except (OSError, UnicodeDecodeError, ConfigError):
                continue
            snap = folder / "snapshots" / commit
            if _COMMIT.fullmatch(commit) and snap.is_dir():
                named.add(commit)
                out.append(CachedSnapshot(repo, revision, snap))
        for snap in sorted((folder / "snapshots").glob("*")):
            if _COMMIT.fullmatch(snap.name) and snap.name not in named and snap.is_dir():
                out.append(CachedSnapshot(repo, snap.name, snap))
    return out
