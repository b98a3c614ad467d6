"""Files written so that no reader sees half of one and no user loses one (used by every stage).

Write then rename, once for the whole package. A file (`write_file`, `write_files`) or a
folder (`staged_folder`) is written under a temporary name beside its target, in the same
folder and so on the same file system: `.NAME.PID-RANDOM.partial`, unique (tempfile) and
naming the process that writes it. Its data are flushed to disk (fsync), then it is renamed
onto the target in one `os.replace`; an error or an interruption before that removes the
temporary and leaves the target as it was.

Stale temporaries. A process killed outright (kill -9, a power cut) cannot remove its
temporary. After every successful write to NAME, the temporaries of NAME beside it (the
patterns above, and the `.NAME.tmp` names of earlier versions) are removed when the process
that made them is no longer running here and they are older than `STALE_SECONDS`; a write in
progress by another live process, or on another machine of a shared disk for a few minutes,
is left alone.

What may be replaced (`check_replaceable`). A command overwrites a file only when it is of
the kind the command writes and recognisably the command's own (a table by its header line,
a figure by the `figure_metadata` mark it carries, see each caller), never one of its inputs,
never a folder, a symbolic link or a read-only file; anything else is refused with one line
unless the user gives `--force`. A folder a command writes whole (a run's, an explain's) follows
the same rule (`OutputFolder`, `check_output_folder`): it is replaced only when every entry is
one of the command's files, recognised by its content, or a folder of another command kept
inside it (a run folder's `explain/`), itself wholly that command's.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

PARTIAL_SUFFIX = ".partial"
"""Suffix of a file or folder being written (`.<name>.<pid>-<random>.partial`)."""
OLD_SUFFIX = ".old"
"""Suffix of a folder's earlier version while the new one is renamed into place."""
STALE_SECONDS = 300.0
"""A temporary older than this whose process is gone is stale (a killed run's)."""
SCAN_BYTES = 65536
"""How much of a file is read to recognise it (headers, figure marks)."""

Content = bytes | str | Callable[[Path], None]
"""What `write_file` writes: bytes, text (UTF-8), or a callback that writes the file at the path it is given."""


# --- write then rename -----------------------------------------------------------------------

def _temporary(target: Path, folder: bool = False) -> Path:
    """A new, unique temporary file (or folder) beside `target`, named for it and this process."""
    prefix = f".{target.name}.{os.getpid()}-"
    if folder:
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=PARTIAL_SUFFIX, dir=target.parent))
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=PARTIAL_SUFFIX, dir=target.parent)
    os.close(handle)
    return Path(name)


def _sync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    except OSError:  # some file systems cannot sync a folder; the rename is still atomic
        pass
    finally:
        os.close(handle)


def is_read_only(path: Path) -> bool:
    """No one may write the file (its mode has no write bit), or this process may not."""
    mode = path.stat().st_mode
    return not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK)


def _destination(path: Path, follow_symlinks: bool) -> Path:
    """Where a write of `path` lands: the file a symbolic link points to, if asked to follow it."""
    path = Path(path)
    if follow_symlinks and path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def write_files(paths: Sequence[str | os.PathLike[str]], write: Callable[[list[Path]], None],
                follow_symlinks: bool = False) -> None:
    """`write(temporaries)` fills one temporary per path; then each is renamed onto its path.

    A read-only target is refused (PermissionError) before anything is written. A new file
    gets mode 0644, a replaced one keeps its mode. Raises OSError for the caller to word.
    """
    targets = [_destination(Path(p), follow_symlinks) for p in paths]
    for target in targets:
        if target.exists() and is_read_only(target):
            raise PermissionError(errno.EACCES, "the file is read-only", str(target))
    temporaries: list[Path] = []
    try:
        for target in targets:
            temporaries.append(_temporary(target))
        write(list(temporaries))
        for target, temporary in zip(targets, temporaries):
            os.chmod(temporary, target.stat().st_mode & 0o7777 if target.exists() else 0o644)
            _sync(temporary)
        for target, temporary in zip(targets, temporaries):
            os.replace(temporary, target)
        for folder in {target.parent for target in targets}:
            _sync(folder)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
    for target in targets:
        clean_stale(target)


def write_file(path: str | os.PathLike[str], content: Content, follow_symlinks: bool = False) -> None:
    """Write `content` to `path` atomically (see the module's docstring); `follow_symlinks`
    writes the file a link points to rather than replacing the link."""
    def fill(temporaries: list[Path]) -> None:
        if callable(content):
            content(temporaries[0])
        else:
            temporaries[0].write_bytes(content.encode("utf-8") if isinstance(content, str) else content)

    write_files([path], fill, follow_symlinks)


@contextmanager
def staged_folder(target: str | os.PathLike[str], option: str = "--out", keep: Sequence[str] = ()) -> Iterator[Path]:
    """A temporary folder to write into; it replaces `target` when the block ends without error.

    Only when every file is written is the earlier folder, if any, moved aside, the new one
    renamed into place and the old one deleted. The subfolders of the earlier folder named in
    `keep` (another command's output that lives inside, e.g. a run folder's `explain/`) are
    copied into the new one first. Checking that `target` may be replaced at all is the
    caller's (`check_output_folder`).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = _temporary(target, folder=True)
    except OSError as error:
        raise InputError(f"{option}: cannot create a folder in {target.parent} ({error.strerror or error})") from None
    try:
        yield staging
        for name in keep:
            kept = target / name
            if kept.is_dir() and not kept.is_symlink() and not (staging / name).exists():
                shutil.copytree(kept, staging / name, symlinks=True)
        for entry in staging.iterdir():
            if entry.is_file():
                _sync(entry)
        os.chmod(staging, 0o755)
        _sync(staging)
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    clean_stale(target)


def _publish(staging: Path, target: Path) -> None:
    """Replace `target` by `staging`: old folder aside, new one into place, old one deleted."""
    backup = None
    if target.exists():
        backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}-", suffix=OLD_SUFFIX,
                                       dir=target.parent))
        os.rmdir(backup)
        os.rename(target, backup)
    try:
        os.rename(staging, target)
    except BaseException:
        if backup is not None:
            os.rename(backup, target)
        raise
    _sync(target.parent)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


# --- stale temporaries -----------------------------------------------------------------------

def _temporaries_pattern(name: str) -> re.Pattern[str]:
    """Names of the temporaries of `name`: ours (`.NAME.PID-RANDOM.partial|.old`), tempfile's of
    earlier versions (`.NAME.RANDOM.partial|.old|.tmp`) and their fixed ones (`.NAME.tmp`, `.NAME.tmp.png`)."""
    return re.compile(rf"\.{re.escape(name)}\.(?:(?:(?P<pid>\d+)-)?[a-z0-9_]{{8}}\.(?:partial|old|tmp)|tmp|tmp\.png)")


def _running(pid: int) -> bool:
    """Whether process `pid` runs on this machine (this process counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(target: str | os.PathLike[str], now: float | None = None) -> list[Path]:
    """Remove the stale temporaries of `target` beside it (see the module's docstring); the ones removed."""
    target = Path(target)
    pattern = _temporaries_pattern(target.name)
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if not found:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        pid = found.group("pid")
        if (pid is not None and _running(int(pid))) or now - info.st_mtime < STALE_SECONDS:
            continue
        path = Path(entry.path)
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


# --- what may be replaced --------------------------------------------------------------------

def same_file(path: str | os.PathLike[str], others: Collection[str | os.PathLike[str]]) -> bool:
    """Whether `path` is (resolving links, `..` and the like) one of `others`."""
    real = os.path.realpath(path)
    return any(real == os.path.realpath(other) for other in others)


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether `path` is `folder` itself or lies anywhere under it (resolving links)."""
    real, top = os.path.realpath(path), os.path.realpath(folder)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def starts_with_line(path: Path, line: str) -> bool:
    """Whether the file's first line is `line` (a table recognised by its header; a byte-order mark is allowed)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(line.encode("utf-8")) + 8)
    except OSError:
        return False
    head = head.removeprefix(b"\xef\xbb\xbf")
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    return first == line.encode("utf-8") and len(head) > len(first)


def json_record(path: Path, max_bytes: int) -> dict | None:
    """The file's JSON object when it is one of at most `max_bytes` (a command's record), else None.

    For recognising a record by its content: anything unreadable, too large, not JSON or not
    an object is simply not a record.
    """
    try:
        if path.stat().st_size > max_bytes:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def figure_metadata(command: str) -> dict[str, str]:
    """Metadata for matplotlib's `savefig` (PNG and SVG) that marks a figure as the command's own."""
    return {"Source": f"labor-stocks {command}"}


def carries_mark(path: Path, command: str) -> bool:
    """Whether the figure at `path` carries `figure_metadata(command)` (within its first bytes)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SCAN_BYTES)
    except OSError:
        return False
    return f"labor-stocks {command}".encode("utf-8") in head


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_image(path: Path) -> bool:
    """Whether the file is a PNG or an SVG image (by its first bytes)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.startswith(PNG_SIGNATURE) or (b"<svg" in head and head.lstrip().startswith(b"<"))


def check_writable_folder(path: Path, option: str) -> None:
    """Fail unless `path`'s folder exists or can be made, and can be written in; nothing is created here."""
    parent = Path(path).parent
    while not parent.exists() and parent != parent.parent:
        if parent.is_symlink():  # a dangling link
            raise InputError(f"{option}: {parent} is a broken symbolic link")
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option}: cannot write in {parent}")


def check_replaceable(path: Path, option: str, ours: Callable[[Path], bool], command: str,
                      inputs: Collection[str | os.PathLike[str]] = (), force: bool = False) -> None:
    """Refuse, with one InputError line, to write `path` over an input or a file the command did not make.

    `ours(path)` recognises an existing file as the command's own; `force` replaces what is
    not recognised (a file of another program, a link), but never an input, a folder or a
    read-only file.
    """
    if same_file(path, inputs):
        raise InputError(f"{option}: {path} is one of this command's inputs; write to another file name")
    if not os.path.lexists(path):
        check_writable_folder(path, option)
        return
    if path.is_dir() and not path.is_symlink():
        raise InputError(f"{option}: {path} is a folder, not a file name")
    if not path.is_symlink() and is_read_only(path):
        raise InputError(f"{option}: {path} is read-only; it is not replaced (choose another file name)")
    check_writable_folder(path, option)
    if force:
        return
    if path.is_symlink():
        raise InputError(f"{option}: {path} is a symbolic link; give --force to replace the link, "
                         f"or write to another file name")
    if not path.is_file() or not ours(path):
        raise InputError(f"{option}: {path} exists and was not written by labor-stocks {command}; "
                         f"give --force to replace it, or write to another file name")


@dataclass(frozen=True)
class OutputFolder:
    """A folder a command writes whole and replaces whole, as `check_output_folder` knows it.

    `files` maps each file the command writes to how it is recognised as the command's by
    its content (a header, a mark, a record's keys); `kept` maps a subfolder another command
    writes inside (a run folder's `explain/`) to that folder's own description: it is kept
    when this folder is replaced, so it must hold nothing but that command's files.
    """

    command: str
    """The command, as messages name it: `was not written by labor-stocks COMMAND`."""
    kind: str
    """Such a folder, in messages: "a run folder"."""
    writer: str
    """Who replaces it, in messages: "a run" (replaces its whole folder)."""
    example: str
    """A folder of its own to suggest: "outputs/NAME"."""
    files: Mapping[str, Callable[[Path], bool]]
    kept: Mapping[str, OutputFolder] = field(default_factory=dict)


def _entries(folder: Path, option: str) -> list[os.DirEntry]:
    try:
        return sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        raise InputError(f"{option}: cannot read the folder {folder} ({error.strerror or error})") from None


def _in_the_way(spec: OutputFolder, folder: Path, option: str, strict: bool, prefix: str = "") -> list[str]:
    """The entries of `folder` that are not `spec`'s, named from the folder checked ("sub/", "explain/notes.txt").

    Not `spec`'s: a name it does not write, a file that is not a regular file (a link, a
    folder), and, when `strict` (inside a kept folder, which is never forced), a file whose
    content is not recognised.
    """
    way = []
    for entry in _entries(folder, option):
        name = prefix + entry.name
        is_folder = entry.is_dir(follow_symlinks=False)
        if entry.name in spec.kept and is_folder:
            way += _in_the_way(spec.kept[entry.name], Path(entry.path), option, True, name + "/")
        elif entry.name not in spec.files or not entry.is_file(follow_symlinks=False) \
                or (strict and not spec.files[entry.name](Path(entry.path))):
            way.append(name + ("/" if is_folder else ""))
    return way


def check_output_folder(spec: OutputFolder, target: Path, option: str = "--out", force: bool = False) -> None:
    """Fail early, before any simulation, when `spec`'s command may not write (or replace) the folder `target`.

    Refused: the current folder or one holding it, a symbolic link, a file, an unwritable
    place, a folder holding anything the command does not write or keep (named in the
    message), and, without `force`, a file with one of its names that is not recognisably its.
    """
    if inside(Path.cwd(), target):
        raise InputError(f"{option}: {target} is the current folder or holds it; {spec.writer} replaces its whole "
                         f"folder: name a folder of its own, e.g. {spec.example}")
    if target.is_symlink():
        raise InputError(f"{option}: {target} is a symbolic link; give the folder itself")
    if target.exists() and not target.is_dir():
        raise InputError(f"{option}: {target} is a file, not a folder")
    check_writable_folder(target, option)
    if not target.is_dir():
        return
    foreign = _in_the_way(spec, target, option, strict=False)
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise InputError(f"{option}: {target} is not {spec.kind} ({', '.join(foreign[:3])}{more} in the way); "
                         f"{spec.writer} replaces its whole folder: choose another folder, or move "
                         f"{'it' if len(foreign) == 1 else 'them'} away")
    if force:
        return
    for entry in _entries(target, option):
        path = Path(entry.path)
        if entry.name in spec.files and not spec.files[entry.name](path):
            raise InputError(f"{option}: {path} was not written by labor-stocks {spec.command}; give --force to "
                             f"replace it, or choose another folder")
