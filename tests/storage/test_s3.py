"""S3 behaviour over real HTTP: SSE-C, storage class, multipart, and every error case."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ferry.devserver import LocalS3Server, free_port
from ferry.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    BucketNotFoundError,
    ConfigError,
    CredentialsError,
    EncryptionError,
    EndpointError,
    FerryError,
    NotFoundError,
    ThrottledError,
)
from ferry.storage.s3 import MiB, S3Options, S3Store, SseCKey
from tests.conftest import FaultServer
from tests.support.s3proxy import S3Proxy

KiB = 1024

KEY = os.urandom(32)
OTHER_KEY = os.urandom(32)


def raw_client(server: LocalS3Server):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def with_key(options: S3Options, key: bytes | None) -> S3Options:
    from dataclasses import replace

    return replace(options, sse_c=SseCKey(key) if key else None)


def small_parts(options: S3Options) -> S3Options:
    from dataclasses import replace

    # Multipart from 6 MiB, in parts of 5 MiB (S3's minimum part size).
    return replace(options, multipart_threshold=6 * MiB, part_size=5 * MiB)


# -- SSE-C ---------------------------------------------------------------------------------


def test_sse_c_round_trip_and_the_server_refuses_reads_without_the_key(
    bucket: str, s3_options: S3Options, s3_server: LocalS3Server
) -> None:
    store = S3Store(f"s3://{bucket}", with_key(s3_options, KEY))
    store.put("secret.txt", b"classified")
    assert store.get("secret.txt") == b"classified"
    assert store.head("secret.txt").size == len(b"classified")
    # Proof the object really is SSE-C encrypted: the server refuses a plain read.
    with pytest.raises(ClientError, match=r"InvalidRequest|Bad Request"):
        raw_client(s3_server).get_object(Bucket=bucket, Key="secret.txt")


def test_reading_sse_c_object_without_a_key_says_to_set_the_key(
    bucket: str, s3_options: S3Options
) -> None:
    S3Store(f"s3://{bucket}", with_key(s3_options, KEY)).put("s.txt", b"x")
    plain = S3Store(f"s3://{bucket}", s3_options)
    for read in (plain.get, plain.head):
        with pytest.raises(EncryptionError) as caught:
            read("s.txt")
        assert "no key was given" in str(caught.value)
        assert "FERRY_SSE_C_KEY" in str(caught.value)


def test_reading_with_the_wrong_key_says_so(bucket: str, s3_options: S3Options) -> None:
    S3Store(f"s3://{bucket}", with_key(s3_options, KEY)).put("s.txt", b"x")
    wrong = S3Store(f"s3://{bucket}", with_key(s3_options, OTHER_KEY))
    for read in (wrong.get, wrong.head):
        with pytest.raises(EncryptionError) as caught:
            read("s.txt")
        assert "different key" in str(caught.value)


def test_sse_c_multipart_upload_and_download(
    bucket: str, s3_options: S3Options, tmp_path: Path
) -> None:
    store = S3Store(f"s3://{bucket}", small_parts(with_key(s3_options, KEY)))
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(12 * MiB + 123))
    store.put_file("big.bin", source)
    target = tmp_path / "back.bin"
    store.get_file("big.bin", target)
    assert target.read_bytes() == source.read_bytes()
    with pytest.raises(EncryptionError):
        S3Store(f"s3://{bucket}", s3_options).get("big.bin")


def test_sse_c_copy_keeps_the_object_encrypted(bucket: str, s3_options: S3Options) -> None:
    store = S3Store(f"s3://{bucket}", with_key(s3_options, KEY))
    store.put("a.txt", b"payload")
    store.copy("a.txt", "b.txt")
    assert store.get("b.txt") == b"payload"
    with pytest.raises(EncryptionError):
        S3Store(f"s3://{bucket}", s3_options).get("b.txt")


@pytest.mark.parametrize("fast", [False, True], ids=["boto3", "obstore"])
def test_the_key_never_appears_in_logs_or_errors(
    bucket: str, s3_options: S3Options, caplog: pytest.LogCaptureFixture, fast: bool
) -> None:
    from dataclasses import replace

    key = SseCKey(KEY)
    secrets = key.secrets()
    s3_options = replace(s3_options, fast=fast)
    with caplog.at_level(logging.DEBUG):
        store = S3Store(f"s3://{bucket}", with_key(s3_options, KEY))
        store.put("k.txt", b"x")
        store.get("k.txt")
        errors: list[BaseException] = []
        for attempt in (
            lambda: store.get("missing"),
            lambda: S3Store(f"s3://{bucket}", with_key(s3_options, OTHER_KEY)).get("k.txt"),
        ):
            try:
                attempt()
            except FerryError as exc:
                errors.append(exc)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    if not fast:  # botocore logs each request's headers, the key's among them
        assert "x-amz-server-side-encryption-customer-key" in logged.lower()
    texts = [logged, repr(key), str(key), repr(store.options)] + [f"{e!s} {e!r}" for e in errors]
    for text in texts:
        for secret in secrets:
            assert secret not in text


@pytest.mark.parametrize("fast", [False, True], ids=["boto3", "obstore"])
def test_a_traceback_with_local_variables_never_shows_the_key(
    fault_server: FaultServer, fast: bool, tmp_path: Path
) -> None:
    """Issue #8: the key lives only inside objects whose repr is redacted, so a traceback
    printed with every frame's local variables (rich, pytest -l) shows no copy of it."""

    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    options = S3Options(
        endpoint_url=fault_server.url,
        region="us-east-1",
        max_attempts=1,
        sse_c=SseCKey(KEY),
        fast=fast,
        multipart_threshold=6 * MiB,
        part_size=5 * MiB,
    )
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 7 * MiB)
    store = S3Store("s3://ssec-blocked", options)
    for action in (lambda: store.put("k", b"x"), lambda: store.put_file("big", big)):
        with pytest.raises(FerryError) as caught:
            action()
        assert_ferry_frames_hide_the_key(caught.value, SseCKey(KEY).secrets())


def assert_ferry_frames_hide_the_key(error: BaseException, secrets: list[str]) -> None:
    """Format ``error`` with every frame's locals; no frame of ferry's shows the key
    (botocore's own frames do hold it: ferry cannot reach into them)."""
    import traceback

    shown = traceback.TracebackException.from_exception(error, capture_locals=True)
    ferry_frames = [
        frame
        for stack in _stacks(shown)
        for frame in stack.stack
        if "/src/ferry/" in frame.filename
    ]
    assert ferry_frames, "the traceback passes through ferry"
    for frame in ferry_frames:
        text = f"{frame.filename}:{frame.lineno} " + " ".join((frame.locals or {}).values())
        for secret in secrets:
            assert secret not in text, text[:300]


def _stacks(shown: Any) -> Iterator[Any]:
    while shown is not None:
        yield shown
        shown = shown.__cause__ or shown.__context__


def test_bucket_blocking_sse_c_says_how_to_allow_it(fault_server: FaultServer) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    options = S3Options(
        endpoint_url=fault_server.url, region="us-east-1", max_attempts=1, sse_c=SseCKey(KEY)
    )
    with pytest.raises(EncryptionError) as caught:
        S3Store("s3://ssec-blocked", options).put("a.txt", b"x")
    message = str(caught.value)
    assert "block SSE-C" in message and "put-bucket-encryption" in message
    assert '"EncryptionType":["NONE"]' in message


# -- storage class, conditional multipart, aborts ------------------------------------------


def test_uploads_use_intelligent_tiering_by_default(
    bucket: str, s3_options: S3Options, s3_server: LocalS3Server, tmp_path: Path
) -> None:
    store = S3Store(f"s3://{bucket}", small_parts(s3_options))
    store.put("small", b"x")
    big = tmp_path / "big"
    big.write_bytes(os.urandom(7 * MiB))
    store.put_file("big", big)
    client = raw_client(s3_server)
    for key in ("small", "big"):
        assert client.head_object(Bucket=bucket, Key=key)["StorageClass"] == "INTELLIGENT_TIERING"


def test_an_invalid_storage_class_is_refused_with_the_valid_ones(
    bucket: str, s3_options: S3Options
) -> None:
    from dataclasses import replace

    store = S3Store(f"s3://{bucket}", replace(s3_options, storage_class="COLD"))
    with pytest.raises(ConfigError, match="INTELLIGENT_TIERING"):
        store.put("x", b"x")


def test_create_only_multipart_conflict_aborts_the_upload(
    bucket: str, s3_options: S3Options, tmp_path: Path
) -> None:
    store = S3Store(f"s3://{bucket}/models", small_parts(s3_options))
    big = tmp_path / "model.bin"
    big.write_bytes(os.urandom(11 * MiB))
    store.put_file("v1/model.bin", big, mode="create")
    big.write_bytes(os.urandom(11 * MiB))
    with pytest.raises(AlreadyExistsError):
        store.put_file("v1/model.bin", big, mode="create")
    assert store.list_incomplete_uploads() == []
    assert store.head("v1/model.bin").size == 11 * MiB


def test_a_download_the_listing_sized_small_is_one_request_and_a_large_one_ranges(
    bucket: str, s3_options: S3Options, tmp_path: Path
) -> None:
    from dataclasses import replace

    proxy = S3Proxy(str(s3_options.endpoint_url))  # counts the requests that reach S3
    try:
        options = replace(s3_options, endpoint_url=proxy.url, part_size=64 * KiB)
        store = S3Store(f"s3://{bucket}", replace(options, whole_read=256 * KiB))
        small, large = os.urandom(200 * KiB), os.urandom(300 * KiB)
        store.put("small.bin", small)
        store.put("large.bin", large)

        def requests_for(key: str, size: int | None) -> int:
            before = proxy.requests()["forwarded"]
            store.get_file(key, tmp_path / key, size=size)
            return proxy.requests()["forwarded"] - before

        assert requests_for("small.bin", len(small)) == 1
        assert (tmp_path / "small.bin").read_bytes() == small
        assert requests_for("small.bin", None) == 4  # size unknown: 64 KiB ranges
        assert requests_for("large.bin", len(large)) == 5
        assert (tmp_path / "large.bin").read_bytes() == large
        # The listing is stale: the object grew past the size it gave. The one GET
        # still brings all of it, never a file cut at the listed size.
        store.put("small.bin", large)
        assert requests_for("small.bin", len(small)) == 1
        assert (tmp_path / "small.bin").read_bytes() == large
    finally:
        proxy.stop()


def test_a_failed_multipart_upload_leaves_no_orphan_parts(
    bucket: str, s3_options: S3Options, tmp_path: Path
) -> None:
    from dataclasses import replace

    # boto3's multipart path (SSE-C and create-only uploads take it), with a client of ours.
    options = small_parts(replace(s3_options, fast=False))
    client = options.client()
    store = S3Store(f"s3://{bucket}", options, client=client)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(16 * MiB))

    def fail_on_third_part(params, **_):  # type: ignore[no-untyped-def]
        if params.get("PartNumber") == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-upload

    client.meta.events.register("provide-client-params.s3.UploadPart", fail_on_third_part)
    with pytest.raises(KeyboardInterrupt):
        store.put_file("big.bin", big)
    assert store.list_incomplete_uploads() == []
    assert not store.exists("big.bin")


# -- errors users meet (seed 003 and more) -------------------------------------------------


def test_missing_bucket_is_told_apart_from_a_missing_key(
    bucket: str, s3_options: S3Options
) -> None:
    missing = S3Store("s3://no-such-bucket-here", s3_options)
    for action in (
        lambda: missing.get("k"),
        lambda: missing.head("k"),
        lambda: list(missing.list()),
        lambda: missing.put("k", b"x"),
    ):
        with pytest.raises(BucketNotFoundError) as caught:
            action()
        assert "does not exist" in str(caught.value)
        assert "ferry mb s3://no-such-bucket-here" in str(caught.value)
    with pytest.raises(NotFoundError) as caught:
        S3Store(f"s3://{bucket}", s3_options).get("no-such-key")
    assert not isinstance(caught.value, BucketNotFoundError)


def test_access_denied_is_told_apart_from_missing(fault_server: FaultServer) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    options = S3Options(endpoint_url=fault_server.url, region="us-east-1", max_attempts=1)
    with pytest.raises(AccessDeniedError) as caught:
        S3Store("s3://denied", options).get("model.pkl")
    assert "s3:GetObject" in str(caught.value) and "arn:aws:s3:::denied/*" in str(caught.value)


@pytest.mark.parametrize("fast", [True, False], ids=["obstore", "boto3"])
def test_throttling_is_retried_then_reported(fault_server: FaultServer, fast: bool) -> None:
    """Each transport retries as boto3's standard mode does: max_attempts in all."""
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    options = S3Options(
        endpoint_url=fault_server.url, region="us-east-1", max_attempts=3, fast=fast
    )
    before = fault_server.requests()
    with pytest.raises(ThrottledError) as caught:
        S3Store("s3://throttled", options).put("a", b"x")
    assert fault_server.requests() - before == 3  # every attempt reached the server
    assert "SlowDown" in str(caught.value) and "FERRY_CONCURRENCY" in str(caught.value)


def test_no_credentials_names_both_fixes(s3_server: LocalS3Server) -> None:
    options = S3Options(endpoint_url=s3_server.url, region="us-east-1", max_attempts=1)
    with pytest.raises(CredentialsError) as caught:
        S3Store("s3://any-bucket", options).get("k")
    message = str(caught.value)
    assert "aws configure" in message
    assert "AWS_ACCESS_KEY_ID" in message and "AWS_SECRET_ACCESS_KEY" in message


def test_unreachable_endpoint_says_what_to_check(dev_credentials: None) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    options = S3Options(endpoint_url=url, region="us-east-1", max_attempts=1)
    with pytest.raises(EndpointError) as caught:
        S3Store("s3://any-bucket", options).get("k")
    assert url in str(caught.value) and "ferry dev s3" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("s3://my-bucket", "without s3://: 'my-bucket'"),
        ("My_Bucket", "3-63 characters"),
        ("ab", "3-63 characters"),
    ],
)
def test_invalid_bucket_names_say_the_valid_form(name: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        S3Store(f"s3://{name}", S3Options(region="us-east-1"), client=object())  # type: ignore[arg-type]
    assert hint in str(caught.value)


def test_a_place_name_region_suggests_the_code() -> None:
    with pytest.raises(ConfigError) as caught:
        S3Options(region="Frankfurt")
    assert "'eu-central-1'" in str(caught.value)
    with pytest.raises(ConfigError, match="not a region code"):
        S3Options(region="moon-base")


def test_sse_c_keys_are_validated_and_key_files_must_be_private(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        SseCKey(b"short")
    key_file = tmp_path / "sse.key"
    key_file.write_text(base64.b64encode(KEY).decode())
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        SseCKey.from_file(key_file)
    key_file.chmod(0o600)
    assert SseCKey.from_file(key_file).secrets() == SseCKey(KEY).secrets()
    key_file.write_bytes(KEY)
    assert SseCKey.from_file(key_file).secrets() == SseCKey(KEY).secrets()
    with pytest.raises(ConfigError, match="neither base64"):
        SseCKey.from_text("not a key!", "FERRY_SSE_C_KEY")


def test_each_operation_has_one_transport_chosen_at_construction(
    bucket: str, s3_options: S3Options
) -> None:
    """obstore serves reads, single writes, large plain uploads and folder listings; an
    SSE-C key moves large uploads to boto3 (obstore leaves the key off the completion)."""
    plain = S3Store(f"s3://{bucket}", s3_options).routes.names
    assert {op: plain[op] for op in ("get", "head", "put", "put_file", "list")} == dict.fromkeys(
        ("get", "head", "put", "put_file", "list"), "obstore"
    )
    assert plain["put_file_create"] == plain["delete"] == plain["copy"] == "boto3"
    encrypted = S3Store(f"s3://{bucket}", with_key(s3_options, KEY)).routes.names
    assert encrypted["put_file"] == "boto3" and encrypted["put"] == "obstore"
    from dataclasses import replace

    assert set(
        S3Store(f"s3://{bucket}", replace(s3_options, fast=False)).routes.names.values()
    ) == {"boto3"}


def test_obstore_carries_the_sse_c_key_and_user_metadata(
    bucket: str, s3_options: S3Options
) -> None:
    store = S3Store(f"s3://{bucket}", with_key(s3_options, KEY))
    store.put("fast.txt", b"via obstore", mode="create", metadata={"kind": "text"})
    got = store.get_object("fast.txt")
    assert (got.data, got.info.size, dict(got.info.metadata)) == (
        b"via obstore",
        11,
        {"kind": "text"},
    )
    assert store.head("fast.txt").metadata == {"kind": "text"}
    with pytest.raises(EncryptionError):
        S3Store(f"s3://{bucket}", s3_options).get("fast.txt")  # written with the key


@pytest.mark.parametrize("fast", [True, False], ids=["obstore", "boto3"])
@pytest.mark.parametrize("key", ["data/truncated.bin", "data/reset.bin"])
def test_a_body_broken_mid_stream_is_a_ferry_error_and_leaves_no_file(
    fault_server: FaultServer, fast: bool, key: str, tmp_path: Path
) -> None:
    from ferry.errors import InterruptedTransferError

    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    options = S3Options(
        endpoint_url=fault_server.url, region="us-east-1", max_attempts=1, fast=fast
    )
    store = S3Store("s3://flaky", options)
    for action in (lambda: store.get(key), lambda: store.get_file(key, tmp_path / "out.bin")):
        with pytest.raises(InterruptedTransferError) as caught:
            action()
        assert "broke while reading s3://flaky/" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    assert store.get("data/good-1.bin")  # the endpoint itself still answers


def test_listing_with_a_key_sees_empty_objects_it_cannot_read(
    bucket: str, s3_options: S3Options, s3_server: LocalS3Server
) -> None:
    raw = raw_client(s3_server)
    raw.put_object(Bucket=bucket, Key="logs/.keep", Body=b"")
    raw.put_object(
        Bucket=bucket,
        Key="logs/other",
        Body=b"",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=OTHER_KEY,
    )
    store = S3Store(f"s3://{bucket}/logs", with_key(s3_options, KEY))
    assert [i.key for i in store.list()] == [".keep", "other"]


def test_a_copy_in_parts_keeps_the_metadata_a_listing_lacks(
    bucket: str, s3_options: S3Options
) -> None:
    from dataclasses import replace

    from ferry.storage.transfer import copy_object

    options = replace(s3_options, copy_threshold=6 * MiB, copy_part_size=5 * MiB)
    src, dst = S3Store(f"s3://{bucket}/a", options), S3Store(f"s3://{bucket}/b", options)
    src.put("big", os.urandom(7 * MiB), metadata={"ferry-xxh3-128": "abc"})
    listed = next(iter(src.list()))
    copy_object(src, "big", dst, "big", listed)
    assert dst.head("big").metadata == {"ferry-xxh3-128": "abc"}


def test_create_only_refuses_a_second_writer_even_with_the_same_bytes(
    bucket: str, s3_options: S3Options
) -> None:
    store = S3Store(f"s3://{bucket}", s3_options)
    store.put("lock", b"taken", mode="create")
    with pytest.raises(AlreadyExistsError):
        store.put("lock", b"taken", mode="create")
    assert store.head("lock").metadata == {}  # the write's own token stays internal
