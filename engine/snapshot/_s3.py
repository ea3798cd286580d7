"""Publishing to an S3-compatible object store, and mirroring it onto a worker's disk.

Layout under ``s3://<bucket>/<prefix>/`` (the same as a local publish folder)::

    snapshots/<version>.lmdb   immutable objects, uploaded before the pointer moves
    current                    a small object whose body is the version (one line); written last
    history.json               the publish state (see _versions.py)

Object stores have no rename, so ``current`` is the only object ever
overwritten; a reader sees the old or the new body (S3 PUTs are atomic per
object and, since 2020, strongly read-after-write consistent; MinIO and other
S3-compatible stores behave the same). A worker never reads the snapshot from
the store: ``S3Mirror`` downloads a new version into a local publish folder,
verifies it, and swaps the local ``current`` symlink, which the worker already
watches.

Publishes to one prefix must be serialized by the caller (a CI concurrency
group): object stores offer no lock. boto3 is imported lazily, so the worker
and the compiler never pay for it unless ``s3://`` is used. The endpoint comes
from ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``), credentials from the
usual AWS variables or instance role.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._io import SnapshotError, open_snapshot, resolve_pointer
from ._versions import SNAPSHOT_SUFFIX, STATE_NAME, PublishError, check_version_name


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or "a/b/" (always ending with a slash when not empty)

    @classmethod
    def from_url(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise PublishError(f"{url}: expected s3://bucket/prefix")
        prefix = parts.path.strip("/")
        return cls(parts.netloc, prefix + "/" if prefix else "")

    def key(self, name: str) -> str:
        return self.prefix + name

    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


def _client(endpoint_url: str | None = None) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise PublishError(
            "s3:// needs boto3: pip install 'boto3>=1.34' (or the smslink[s3] extra)"
        ) from exc
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    cfg = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    return boto3.client("s3", endpoint_url=endpoint, config=cfg)


def _is_missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3Target:
    """A publish target under ``s3://bucket/prefix`` (see the module docstring)."""

    def __init__(self, url: str, *, client: Any = None, endpoint_url: str | None = None) -> None:
        self.loc = S3Location.from_url(url)
        self._client = client
        self._endpoint_url = endpoint_url

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client(self._endpoint_url)
        return self._client

    def describe(self) -> str:
        return self.loc.url()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        yield  # no locks in object stores: serialize publishes in CI (concurrency group)

    def _snapshot_key(self, version: str) -> str:
        return self.loc.key(f"snapshots/{check_version_name(version)}{SNAPSHOT_SUFFIX}")

    def _get(self, name: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.loc.bucket, Key=self.loc.key(name))
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise PublishError(f"{self.describe()}/{name}: {exc}") from exc
        return bytes(obj["Body"].read())

    def current(self) -> str | None:
        raw = self._get("current")
        if raw is None:
            return None
        return check_version_name(raw.decode().strip())

    def present(self) -> list[str]:
        versions = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.loc.bucket, Prefix=self.loc.key("snapshots/")):
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                if name.endswith(SNAPSHOT_SUFFIX) and not name.startswith("."):
                    versions.append(name[: -len(SNAPSHOT_SUFFIX)])
        return sorted(versions)

    def upload(self, version: str, local: Path) -> None:
        from botocore.exceptions import ClientError

        key = self._snapshot_key(version)
        try:
            self.client.head_object(Bucket=self.loc.bucket, Key=key)
            return  # immutable: same version, same content hash
        except ClientError as exc:
            if not _is_missing(exc):
                raise PublishError(f"s3://{self.loc.bucket}/{key}: {exc}") from exc
        self.client.upload_file(str(local), self.loc.bucket, key)

    def fetch(self, version: str, scratch: Path) -> Path:
        dest = scratch / f"{version}{SNAPSHOT_SUFFIX}"
        if not dest.exists():
            download(self.client, self.loc.bucket, self._snapshot_key(version), dest)
        return dest

    def set_current(self, version: str) -> None:
        self.client.put_object(
            Bucket=self.loc.bucket, Key=self.loc.key("current"), Body=(version + "\n").encode(),
            ContentType="text/plain", CacheControl="no-cache",
        )

    def delete(self, version: str) -> None:
        self.client.delete_object(Bucket=self.loc.bucket, Key=self._snapshot_key(version))

    def read_state(self) -> bytes | None:
        return self._get(STATE_NAME)

    def write_state(self, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.loc.bucket, Key=self.loc.key(STATE_NAME), Body=data,
            ContentType="application/json",
        )


def download(client: Any, bucket: str, key: str, dest: Path) -> None:
    """Download to ``dest`` via a temporary name in the same folder, then rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.tmp-", dir=dest.parent)
    os.close(fd)
    try:
        client.download_file(bucket, key, tmp_name)
        with open(tmp_name, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o444)
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class S3Mirror:
    """Keep a local publish folder in step with ``s3://bucket/prefix``.

    ``sync_once()`` reads the remote ``current``; when it names a version the
    local folder does not serve yet, downloads it into ``<local_dir>/snapshots/``,
    verifies it (format and checksum) and swaps ``<local_dir>/current``. A
    version that fails verification is refused and the old one keeps serving
    (invariant 5). Point ``smslink serve --snapshot`` at ``local_dir``.

    Parameters
    ----------
    url:
        ``s3://bucket/prefix`` as given to ``smslink publish --to``.
    local_dir:
        The worker's local publish folder (an emptyDir in Kubernetes).
    keep:
        Local copies kept (the current one and the one before are always kept).
    """

    def __init__(
        self, url: str, local_dir: str | os.PathLike[str], *, keep: int = 2, client: Any = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.target = S3Target(url, client=client, endpoint_url=endpoint_url)
        self.local = Path(local_dir)
        self.keep = keep
        self.last_error: str | None = None
        self._etag: str | None = None
        self._refused: str | None = None  # a version that failed verification: not retried

    def local_version(self) -> str | None:
        pointer = self.local / "current"
        if not pointer.is_symlink() and not pointer.exists():
            return None
        real = resolve_pointer(pointer)
        return real.name[: -len(SNAPSHOT_SUFFIX)] if real.is_file() else None

    def _remote_current(self) -> str | None:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.target.loc.bucket, "Key": self.target.loc.key("current")}
        if self._etag:
            kwargs["IfNoneMatch"] = self._etag
        try:
            obj = self.target.client.get_object(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"304", "NotModified"}:
                return None
            if _is_missing(exc):
                raise PublishError(f"{self.target.describe()}: nothing is published there yet") from exc
            raise
        self._etag = obj.get("ETag")
        return check_version_name(obj["Body"].read().decode().strip())

    def sync_once(self) -> bool:
        """Make the local folder serve the remote current version; True when it changed.

        Raises
        ------
        PublishError
            Nothing published remotely, or the remote version failed verification
            (the local folder is left as it was).
        """
        from ._publish import swap_pointer

        remote = self._remote_current()
        if remote is None:  # unchanged since the last look (ETag)
            return False
        if remote == self.local_version():
            return False
        if remote == self._refused:
            return False
        folder = self.local / "snapshots"
        dest = folder / f"{remote}{SNAPSHOT_SUFFIX}"
        if not dest.exists():
            self.local.mkdir(parents=True, exist_ok=True)
            tmp_dir = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.local))
            try:
                tmp = tmp_dir / dest.name
                download(self.target.client, self.target.loc.bucket, self.target._snapshot_key(remote), tmp)
                try:
                    with open_snapshot(tmp, verify=True) as snap:
                        if snap.meta.version != remote:
                            raise SnapshotError(
                                f"{remote}: the object holds version {snap.meta.version}"
                            )
                except SnapshotError as exc:
                    self._refused = remote
                    self._etag = None
                    self.last_error = f"refused {remote} from {self.target.describe()}: {exc}"
                    raise PublishError(self.last_error + "; still serving the local copy") from exc
                folder.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, dest)
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
        previous = self.local_version()
        swap_pointer(self.local, dest)
        self.last_error = None
        self._prune(remote, previous)
        return True

    def _prune(self, current: str, previous: str | None) -> None:
        folder = self.local / "snapshots"
        files = sorted(
            (p for p in folder.iterdir() if p.name.endswith(SNAPSHOT_SUFFIX) and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime, reverse=True,
        )
        protected = {current, previous}
        for p in files[self.keep:]:
            if p.name[: -len(SNAPSHOT_SUFFIX)] not in protected:
                # A worker may still have it mapped; unlinking an mmapped file is safe on POSIX.
                p.unlink(missing_ok=True)
