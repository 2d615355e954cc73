#!/usr/bin/env python3
"""Rebuild the database of one sqlbak backup without sqlbak.

    python3 sqlbak-reassemble.py MANIFEST.json OUTPUT.db [--identity FILE]

MANIFEST.json is a backup's manifest (`<id>.json`); the files it names are
read from the same folder. Works for both formats (docs/format.md,
docs/storage.md): an incremental ("pages") backup is rebuilt from its page
map and packs, a self-contained file backup is decrypted and decompressed.
Needs Python 3.9+ (standard library only), the `zstd` command, and `age`
for encrypted backups: with recipients, pass the identity file with
--identity; with a passphrase, age asks for it once per file it opens.

Every stored file's size and SHA-256 are checked against the manifest
before it is decoded, and the rebuilt image's SHA-256 against the
manifest's raw SHA-256 (for an encrypted backup, read from the manifest's
meta block, an age file like the others). The image is built in a temporary file beside
OUTPUT and renamed to OUTPUT only when it matches. OUTPUT must not exist.

Exit status: 0 the image matches, 1 a stored file is missing or damaged,
a tool failed or the image does not match (one line on stderr says what),
2 bad arguments or a manifest this script cannot read.

Memory stays small: packs and images are streamed (1 MiB at a time); only
the map's runs are held.
"""

import argparse
import base64
import binascii
import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

CHUNK = 1 << 20
MAP_MAGIC = b"SQLBKMAP"
MAP_HEADER = struct.Struct("<8sIIII")  # magic, version, page_size, page_count, run_count
MAP_RUN = struct.Struct("<IIIII")  # first_page, count, pack, first_entry, stride
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Failure(Exception):
    """The backup cannot be rebuilt: exit 1 with this message."""


class BadInput(Exception):
    """Bad arguments or an unreadable manifest: exit 2 with this message."""


def stored_path(folder, name, what):
    if not isinstance(name, str) or not SAFE_NAME.match(name):
        raise BadInput("the manifest names %s %r, which is not a file name in its folder" % (what, name))
    return os.path.join(folder, name)


def check_stored(path, size, sha256, what):
    """The file at `path` must be a regular file of `size` bytes whose SHA-256 is `sha256`."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise Failure("%s is missing (%s)" % (what, path))
    except OSError as err:
        raise Failure("cannot read %s: %s" % (what, err))
    if not os.path.isfile(path):
        raise Failure("%s is not a regular file (%s)" % (what, path))
    if st.st_size != size:
        raise Failure("%s is damaged: %d bytes, the manifest records %d" % (what, st.st_size, size))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    if h.hexdigest() != sha256:
        raise Failure("%s is damaged: SHA-256 %s, the manifest records %s" % (what, h.hexdigest(), sha256))


def need_tool(name):
    if shutil.which(name) is None:
        raise Failure("the `%s` command is needed and not on PATH" % name)


class Decoded:
    """The decoded bytes of one stored file: `age -d` when encrypted, then zstd, gzip or nothing. A readable stream."""

    def __init__(self, path, encrypted, compression, identity, what):
        self.what = what
        self.procs = []  # (tool name, Popen, stderr file)
        self.gz = None
        self.closed = False
        source = None
        if encrypted:
            need_tool("age")
            cmd = ["age", "-d"] + (["-i", identity] if identity else []) + [path]
            source = self._spawn("age", cmd, None)
        if compression == "zstd":
            need_tool("zstd")
            cmd = ["zstd", "-dcq"] + ([] if source else [path])
            source = self._spawn("zstd", cmd, source)
        if source is None:
            self.stream = open(path, "rb")
        else:
            self.stream = source
        if compression == "gzip":
            self.gz = gzip.GzipFile(fileobj=self.stream, mode="rb")

    def _spawn(self, tool, cmd, stdin):
        err = tempfile.TemporaryFile()
        p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=err)
        if stdin is not None:
            stdin.close()  # the child holds it now; it sees EOF/SIGPIPE as it should
        self.procs.append((tool, p, err))
        return p.stdout

    def read(self, n):
        """Up to `n` bytes: fewer only at the end."""
        src = self.gz if self.gz is not None else self.stream
        parts = []
        left = n
        try:
            while left > 0:
                block = src.read(left)
                if not block:
                    break
                parts.append(block)
                left -= len(block)
        except (OSError, EOFError, gzip.BadGzipFile) as err:
            self.close(ok=False)
            raise Failure("%s cannot be decoded: %s" % (self.what, err))
        return b"".join(parts)

    def finish(self):
        """Reads what is left (nothing is written anywhere), then closes: a tool that failed is a Failure."""
        while not self.closed and self.read(CHUNK):
            pass
        self.close()

    def close(self, ok=True):
        """Waits for the tools; when `ok`, a tool that failed is a Failure naming the file. Once only."""
        if self.closed:
            return
        self.closed = True
        if self.gz is not None:
            self.gz.close()
        self.stream.close()
        failed = None
        for tool, p, err in self.procs:
            if not ok:
                p.kill()
            code = p.wait()
            if code != 0 and failed is None:
                err.seek(0)
                lines = [ln.strip() for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
                failed = "%s failed on %s (exit %d)%s" % (tool, self.what, code, ": " + lines[-1] if lines else "")
            err.close()
        self.procs = []
        if ok and failed:
            raise Failure(failed)


def read_map(path, encrypted, identity, page_size, page_count, pack_count, what):
    """The map's runs, by pack: runs[p] is a list of (first_entry, last_entry, first_page, stride)."""
    d = Decoded(path, encrypted, "zstd", identity, what)
    try:
        head = d.read(MAP_HEADER.size)
        if len(head) != MAP_HEADER.size:
            d.close()  # a tool that failed explains a short read best
            raise Failure("%s is damaged: shorter than its header" % what)
        magic, version, size, count, run_count = MAP_HEADER.unpack(head)
        if magic != MAP_MAGIC or version != 1:
            raise Failure("%s is not a version 1 page map" % what)
        if size != page_size or count != page_count:
            raise Failure(
                "%s describes %d pages of %d bytes, the manifest %d of %d" % (what, count, size, page_count, page_size)
            )
        runs = [[] for _ in range(pack_count)]
        next_page = 1
        left = run_count
        while left > 0:
            n = min(left, CHUNK // MAP_RUN.size)
            block = d.read(n * MAP_RUN.size)
            if len(block) != n * MAP_RUN.size:
                d.close()
                raise Failure("%s is damaged: it ends before its %d runs" % (what, run_count))
            for first_page, n_pages, pack, first_entry, stride in MAP_RUN.iter_unpack(block):
                if first_page != next_page or n_pages < 1 or stride not in (0, 1):
                    raise Failure("%s is damaged: a run at page %d does not follow page %d" % (what, first_page, next_page - 1))
                if pack >= pack_count:
                    raise Failure("%s names pack %d, the manifest lists %d" % (what, pack, pack_count))
                runs[pack].append((first_entry, first_entry + (n_pages - 1) * stride, first_page, stride, n_pages))
                next_page += n_pages
            left -= n
        if d.read(1):
            raise Failure("%s is damaged: bytes after its %d runs" % (what, run_count))
        if next_page - 1 != page_count:
            raise Failure("%s is damaged: its runs cover %d of %d pages" % (what, next_page - 1, page_count))
    except BaseException:
        d.close(ok=False)
        raise
    d.close()
    return runs


def place_pack(out, path, encrypted, identity, page_size, runs, what):
    """Streams one pack's entries into `out` at every page its runs give them."""
    runs.sort()
    zero = bytes(page_size)
    per_chunk = max(1, CHUNK // page_size)
    d = Decoded(path, encrypted, "zstd", identity, what)
    try:
        nxt = 0  # runs[:nxt] have started
        active = []
        first = 0  # entry number of the chunk's first page
        while nxt < len(runs) or active:
            chunk = d.read(per_chunk * page_size)
            n = len(chunk) // page_size
            if n < per_chunk:  # the end of the pack
                d.finish()
            if len(chunk) % page_size:
                raise Failure("%s is damaged: it ends inside a page" % what)
            if n == 0:
                need = max([r[1] for r in active] + [r[1] for r in runs[nxt:]])
                raise Failure("%s is damaged: it holds %d entries, the map needs %d" % (what, first, need + 1))
            end = first + n  # entries first..end-1 are in `chunk`
            while nxt < len(runs) and runs[nxt][0] < end:
                active.append(runs[nxt])
                nxt += 1
            still = []
            for run in active:
                first_entry, last_entry, first_page, stride, n_pages = run
                if stride == 0:  # one entry, in this chunk (the one the run started in), on n_pages pages
                    at = (first_entry - first) * page_size
                    page = chunk[at : at + page_size]
                    if page != zero:  # the file starts zeroed
                        for j in range(n_pages):
                            out.seek((first_page - 1 + j) * page_size)
                            out.write(page)
                    continue
                lo = max(first, first_entry)
                hi = min(end - 1, last_entry)
                out.seek((first_page - 1 + lo - first_entry) * page_size)
                out.write(chunk[(lo - first) * page_size : (hi - first + 1) * page_size])
                if last_entry >= end:
                    still.append(run)
            active = still
            first = end
    except BaseException:
        d.close(ok=False)
        raise
    d.finish()  # entries after the last one the map needs: read, and the tools' exit status checked


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def meta_raw_sha256(m, identity):
    """An encrypted backup's raw SHA-256, from its manifest's meta block: base64 of an age file of JSON."""
    try:
        block = base64.b64decode(m["meta"]["age"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise BadInput("manifest of %s has no raw SHA-256 and no readable meta block" % m.get("id"))
    need_tool("age")
    cmd = ["age", "-d"] + (["-i", identity] if identity else [])
    p = subprocess.run(cmd, input=block, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        msg = p.stderr.decode("utf-8", "replace").strip().splitlines()
        raise Failure("age could not decrypt the meta block of %s: %s" % (m.get("id"), msg[-1] if msg else "failed"))
    try:
        sha = json.loads(p.stdout)["raw"]["sha256"]
    except (ValueError, KeyError, TypeError):
        raise Failure("the meta block of %s holds no raw SHA-256" % m.get("id"))
    if not isinstance(sha, str) or len(sha) != 64:
        raise Failure("the meta block of %s holds no raw SHA-256" % m.get("id"))
    return sha


def rebuild(manifest_path, output, identity):
    try:
        with open(manifest_path, "rb") as f:
            m = json.load(f)
        stored = m["stored"]
        raw_size = m["raw"]["size"]
        raw_sha = m["raw"].get("sha256")
        fmt = stored.get("format", "file")
        encrypted = bool(stored.get("encryption"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise BadInput("cannot read manifest %s: %s" % (manifest_path, err))
    if m.get("format") != 1:
        raise BadInput("manifest %s has format %r; this script reads format 1" % (manifest_path, m.get("format")))
    if fmt not in ("file", "pages"):
        raise BadInput("manifest %s has stored format %r; this script reads file and pages" % (manifest_path, fmt))
    if encrypted and not identity and stored["encryption"].get("recipients"):
        raise BadInput("backup %s is encrypted to recipients: pass the identity file with --identity" % m.get("id"))
    if os.path.lexists(output):
        raise BadInput("%s exists; name a new file" % output)
    if raw_sha is None:
        raw_sha = meta_raw_sha256(m, identity)
    folder = os.path.dirname(os.path.abspath(manifest_path))
    data = stored_path(folder, stored.get("file"), "data file")
    what = "%s %s" % ("map" if fmt == "pages" else "data file", stored["file"])
    check_stored(data, stored["size"], stored["sha256"], what)

    out_dir = os.path.dirname(os.path.abspath(output))
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(output) + ".", suffix=".tmp", dir=out_dir)
    try:
        with os.fdopen(fd, "r+b") as out:
            if fmt == "file":
                d = Decoded(data, encrypted, stored.get("compression", "zstd"), identity, what)
                try:
                    for block in iter(lambda: d.read(CHUNK), b""):
                        out.write(block)
                except BaseException:
                    d.close(ok=False)
                    raise
                d.close()
            else:
                packs = stored["packs"]
                page_size = stored["page_size"]
                page_count = m["snapshot"]["page_count"]
                if raw_size != page_count * page_size:
                    raise Failure("raw size %d is not page_count %d x page_size %d" % (raw_size, page_count, page_size))
                runs = read_map(data, encrypted, identity, page_size, page_count, len(packs), what)
                paths = [stored_path(folder, p.get("name"), "pack") for p in packs]
                for p, path in zip(packs, paths):
                    check_stored(path, p["size"], p["sha256"], "pack " + p["name"])
                out.truncate(raw_size)
                for p, path, pack_runs in zip(packs, paths, runs):
                    if pack_runs:
                        place_pack(out, path, encrypted, identity, page_size, pack_runs, "pack " + p["name"])
            out.flush()
            os.fsync(out.fileno())
            size = out.seek(0, os.SEEK_END)
        if size != raw_size:
            raise Failure("the rebuilt image has %d bytes, the manifest records %d" % (size, raw_size))
        got = sha256_of(temp)
        if got != raw_sha:
            raise Failure("the rebuilt image's SHA-256 %s is not the manifest's %s" % (got, raw_sha))
        os.rename(temp, output)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    dir_fd = os.open(out_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return m.get("id"), got


def main(argv):
    ap = argparse.ArgumentParser(
        prog="sqlbak-reassemble.py",
        description="Rebuild the database of a sqlbak backup (pages or file) without sqlbak, checking every SHA-256.",
    )
    ap.add_argument("manifest", metavar="MANIFEST.json", help="the backup's manifest; its files are read beside it")
    ap.add_argument("output", metavar="OUTPUT.db", help="the database file to write (must not exist)")
    ap.add_argument("--identity", metavar="FILE", help="age identity file, for backups encrypted to recipients")
    args = ap.parse_args(argv)
    try:
        backup_id, sha = rebuild(args.manifest, args.output, args.identity)
    except BadInput as err:
        print("sqlbak-reassemble: %s" % err, file=sys.stderr)
        return 2
    except Failure as err:
        print("sqlbak-reassemble: %s" % err, file=sys.stderr)
        return 1
    except OSError as err:
        print("sqlbak-reassemble: %s" % err, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sqlbak-reassemble: interrupted; nothing written", file=sys.stderr)
        return 130
    print("sqlbak-reassemble: %s rebuilt as %s (SHA-256 %s)" % (backup_id, args.output, sha), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
