"""jieba's dictionary kept in the model cache as tables read a bucket at a time.

jieba loads its whole dictionary before cutting its first word: some 580,000 word counts (0.5-0.8 s from
its marshal cache) and, on importing ``jieba.posseg``, 350,000 part-of-speech tags parsed again from its
text file (0.4 s). A question looks up a few hundred of those words. Here both tables are written once,
hashed into buckets, and a bucket is read the first time a word falls in it, so a question costs a few
milliseconds. Every lookup answers what jieba's own table would, so the words and tags are the same.
Once half the buckets are read (an index build) the table puts a plain dict in its place.
"""

from __future__ import annotations

import io
import json
import logging
import marshal
import mmap
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

log = logging.getLogger("qa")

LAYOUT = 1  # bump when the files change, so old tables are written again
BUCKETS = 4096
FREQ_FILE, TAGS_FILE, INFO_FILE = "freq.tab", "tags.tab", "info.json"
_lock = threading.Lock()


def _index(key: str, n: int) -> int:
    # crc32, not hash(): string hashes change from one process to the next
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % n


def write_table(path: Path, table: dict, buckets: int = BUCKETS) -> None:
    """``table`` hashed into ``buckets`` marshalled dicts, behind their offsets."""
    parts: list[dict] = [{} for _ in range(buckets)]
    for key, value in table.items():
        parts[_index(key, buckets)][key] = value
    blobs = [marshal.dumps(p) for p in parts]
    offsets, at = [], 8 * (buckets + 2)
    for b in blobs:
        offsets.append(at)
        at += len(b)
    offsets.append(at)
    with open(path, "wb") as f:
        f.write(struct.pack(f"<{buckets + 2}Q", buckets, *offsets))
        f.writelines(blobs)


class BucketTable:
    """A str-keyed table on disk that answers ``in``, ``[]`` and ``get`` like the dict it was written from,
    reading a bucket on first use. ``replace`` gets the whole table as a dict once half the buckets are read."""

    def __init__(self, path: Path, replace: Callable[[dict], None] | None = None):
        with open(path, "rb") as f:
            self._data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        n = struct.unpack_from("<Q", self._data, 0)[0]
        self._offsets = struct.unpack_from(f"<{n + 1}Q", self._data, 8)
        self._buckets: list[dict | None] = [None] * n
        self._read = 0
        self.replace = replace

    def _bucket(self, key: str) -> dict:
        i = _index(key, len(self._buckets))
        found = self._buckets[i]
        if found is None:
            found = self._buckets[i] = marshal.loads(self._data[self._offsets[i]:self._offsets[i + 1]])
            self._read += 1
            if self.replace is not None and 2 * self._read >= len(self._buckets):
                replace, self.replace = self.replace, None
                replace(self.to_dict())
        return found

    def __contains__(self, key: str) -> bool:
        return key in self._bucket(key)

    def __getitem__(self, key: str):
        return self._bucket(key)[key]

    def get(self, key: str, default=None):
        return self._bucket(key).get(key, default)

    def __setitem__(self, key: str, value) -> None:  # jieba.add_word
        self._bucket(key)[key] = value

    def update(self, other: dict) -> None:  # jieba.posseg, after add_word with a tag
        for key, value in other.items():
            self[key] = value

    def to_dict(self) -> dict:
        out: dict = {}
        for i, found in enumerate(self._buckets):
            if found is None:
                found = self._buckets[i] = marshal.loads(self._data[self._offsets[i]:self._offsets[i + 1]])
            out.update(found)
        return out

    def __bool__(self) -> bool:  # not len(): that reads every bucket
        return True

    def __len__(self) -> int:
        return len(self.to_dict())

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())


def _posseg_module(jieba):
    """``jieba.posseg`` imported without the read of jieba's dictionary its import does for the tags (which
    the caller sets)."""
    jieba.dt.get_dict_file = lambda: io.BytesIO()  # the instance's, for the import's POSTokenizer only
    try:
        import jieba.posseg
    finally:
        del jieba.dt.get_dict_file
    return jieba.posseg


def _folder(jieba) -> Path:
    from qa.encoder.model import default_cache_dir

    st = (Path(jieba.__file__).parent / "dict.txt").stat()
    key = f"{LAYOUT}-{jieba.__version__}-{st.st_size}-{st.st_mtime_ns}-{marshal.version}"
    return default_cache_dir() / "jieba" / f"dict-{zlib.crc32(key.encode()):08x}"


def _is_valid(folder: Path) -> bool:
    try:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info.get("layout") == LAYOUT and all((folder / f).is_file() for f in (FREQ_FILE, TAGS_FILE))


def _write(jieba, folder: Path) -> None:
    """jieba's own tables, as it builds them from its dictionary (the tags as ``POSTokenizer.load_word_tag``)."""
    freq, total = jieba.Tokenizer.gen_pfdict(jieba.dt.get_dict_file())
    tags: dict[str, str] = {}
    with jieba.dt.get_dict_file() as f:
        for line in f:
            line = line.strip().decode("utf-8")
            if line:
                word, _, tag = line.split(" ")
                tags[word] = tag
    write_table(folder / FREQ_FILE, freq)
    write_table(folder / TAGS_FILE, tags)
    (folder / INFO_FILE).write_text(json.dumps({"layout": LAYOUT, "total": total}), encoding="utf-8")


@lru_cache(maxsize=1)
def tables(jieba) -> Path | None:
    """The folder of the tables of jieba's default dictionary, written on first use; None when it cannot be."""
    from qa.encoder.atomic import build_folder

    try:
        return build_folder(_folder(jieba), _is_valid, lambda tmp: _write(jieba, tmp))
    except Exception as e:  # a read-only cache, a jieba laid out otherwise: jieba loads as it always did
        log.debug("jieba tables unavailable (%s): jieba loads its dictionary whole", e)
        return None


def install(jieba, pos: bool = False) -> None:
    """Point jieba's word counts (and with ``pos`` jieba.posseg's tags) at the tables. A table jieba already
    loaded, or a dictionary other than jieba's default, is left alone: jieba loads it itself, as before."""
    with _lock:
        dt = jieba.dt
        if dt.dictionary != jieba.DEFAULT_DICT:
            return
        if not dt.initialized and (folder := tables(jieba)):
            info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
            dt.FREQ = BucketTable(folder / FREQ_FILE, lambda whole: setattr(dt, "FREQ", whole))
            dt.total = info["total"]
            dt.initialized = True
        if pos and "jieba.posseg" not in sys.modules and (folder := tables(jieba)):
            tags = BucketTable(folder / TAGS_FILE)
            posseg = _posseg_module(jieba).dt
            posseg.word_tag_tab = tags
            tags.replace = lambda whole: setattr(posseg, "word_tag_tab", whole)
